//! Properties of cursor encoding: every cursor decodes to what was encoded, nothing else
//! decodes (arbitrary text, any change to a cursor, another server's key), and decoding
//! never panics.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::{CursorCodec, PageRequest, PageStart};

/// A position like the ones the listings encode: a sort key (text, number or time) and an id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Position {
    key: Key,
    id: Uuid,
    filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Key {
    Text(String),
    Number(i64),
    Time(DateTime<Utc>),
}

fn position() -> impl Strategy<Value = Position> {
    let key = prop_oneof![
        any::<String>().prop_map(Key::Text),
        any::<i64>().prop_map(Key::Number),
        // Microseconds, as the databases store them, over years 1970..2200.
        (0i64..7_258_118_400_000_000)
            .prop_map(|us| Key::Time(DateTime::from_timestamp_micros(us).unwrap_or_default())),
    ];
    (key, any::<u128>(), prop::option::of(any::<String>())).prop_map(|(key, id, filter)| Position {
        key,
        id: Uuid::from_u128(id),
        filter,
    })
}

fn codec() -> CursorCodec {
    CursorCodec::new(b"the server secret, as AppState derives it")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_cursor_decodes_to_what_was_encoded(position in position()) {
        let codec = codec();
        let cursor = codec.encode(&position);
        // Opaque and URL-safe: it goes into a query string as it is.
        prop_assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        prop_assert_eq!(codec.decode::<Position>(&cursor), Some(position));
    }

    #[test]
    fn arbitrary_text_never_decodes_and_never_panics(raw in any::<String>()) {
        prop_assert_eq!(codec().decode::<Position>(&raw), None);
        prop_assert_eq!(codec().decode::<serde_json::Value>(&raw), None);
    }

    #[test]
    fn arbitrary_signed_looking_text_never_decodes(
        payload in prop::collection::vec(any::<u8>(), 0..64),
        tag in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let raw = format!("{}.{}", b64.encode(&payload), b64.encode(&tag));
        prop_assert_eq!(codec().decode::<serde_json::Value>(&raw), None);
    }

    #[test]
    fn any_change_to_a_cursor_is_refused(
        position in position(),
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        change in 0..3u8,
    ) {
        let codec = codec();
        let cursor = codec.encode(&position);
        let mut chars: Vec<char> = cursor.chars().collect();
        let i = at.index(chars.len());
        match change {
            0 if chars[i] != replacement => chars[i] = replacement,
            0 => chars[i] = if replacement == 'A' { 'B' } else { 'A' },
            1 => { chars.remove(i); }
            _ => chars.insert(i, replacement),
        }
        let changed: String = chars.into_iter().collect();
        prop_assume!(changed != cursor);
        prop_assert_eq!(codec.decode::<Position>(&changed), None, "{} accepted", changed);
    }

    #[test]
    fn another_key_refuses_every_cursor(position in position(), secret in any::<Vec<u8>>()) {
        prop_assume!(secret != b"the server secret, as AppState derives it");
        let cursor = codec().encode(&position);
        prop_assert_eq!(CursorCodec::new(&secret).decode::<Position>(&cursor), None);
    }

    #[test]
    fn page_requests_stay_in_range(
        limit in prop::option::of(any::<i64>()),
        offset in prop::option::of(any::<i64>()),
        cursor in prop::option::of(any::<String>()),
    ) {
        let codec = codec();
        let request = PageRequest::new(limit, offset, cursor.as_deref(), |c| {
            codec.decode::<Position>(c)
        });
        match request {
            Ok(page) => {
                prop_assert!((1..=100).contains(&page.limit));
                // Arbitrary text is never a cursor: a request that passed is in offset mode.
                prop_assert!(cursor.is_none());
                prop_assert!(matches!(page.start, PageStart::Offset(_)));
            }
            Err(refused) => prop_assert_eq!(refused.path, "cursor"),
        }
    }
}
