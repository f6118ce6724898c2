//! Properties of the conditional headers: arbitrary values never panic, and the comparison is
//! RFC 9110's (§8.8.3.2): strong for `If-Match`, weak for `If-None-Match`.
#![expect(clippy::unwrap_used, reason = "a failing test panics")]

use axum::http::{HeaderMap, HeaderValue, header};
use proptest::prelude::*;

use super::{Condition, header_value, of};

/// One tag as a client may write it: a version, weak or not, quoted or not (we are lenient
/// about missing quotes), with optional whitespace around it.
fn tag() -> impl Strategy<Value = (i64, bool, bool, String)> {
    (
        any::<i64>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["", " ", "\t", "  "]),
    )
        .prop_map(|(version, weak, quoted, space)| {
            let opaque = if quoted {
                format!("\"{version}\"")
            } else {
                version.to_string()
            };
            let text = format!("{space}{}{opaque}{space}", if weak { "W/" } else { "" });
            (version, weak, quoted, text)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_header_text_never_panics(raw in any::<String>(), version in any::<i64>()) {
        let condition = Condition::parse(&raw);
        // Strong is the stricter comparison: whatever it admits, the weak one admits.
        if condition.matches_strong(version) {
            prop_assert!(condition.matches_weak(version));
        }
    }

    #[test]
    fn arbitrary_header_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, value);
            let condition = Condition::from_header(&headers, header::IF_MATCH);
            prop_assert!(condition.is_some());
        }
    }

    #[test]
    fn lists_compare_weakly_and_strongly_as_rfc_9110_says(
        tags in prop::collection::vec(tag(), 1..6),
        probe in any::<i64>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let raw = tags.iter().map(|t| t.3.as_str()).collect::<Vec<_>>().join(",");
        let condition = Condition::parse(&raw);
        // Probe both a version in the list and an arbitrary one.
        for version in [tags[pick.index(tags.len())].0, probe] {
            let weak = tags.iter().any(|t| t.0 == version);
            let strong = tags.iter().any(|t| t.0 == version && !t.1);
            prop_assert_eq!(condition.matches_weak(version), weak, "{:?} weak vs {}", raw, version);
            prop_assert_eq!(condition.matches_strong(version), strong, "{:?} strong vs {}", raw, version);
        }
    }

    #[test]
    fn our_etag_matches_its_version_only(version in any::<i64>(), other in any::<i64>()) {
        let tag = of(version);
        let value = header_value(version);
        prop_assert_eq!(value.to_str().ok(), Some(tag.as_str()));
        let condition = Condition::parse(&tag);
        prop_assert!(condition.matches_strong(version));
        prop_assert!(condition.matches_weak(version));
        prop_assert_eq!(condition.matches_strong(other), other == version);
        // The same tag marked weak no longer satisfies `If-Match`.
        let weakened = Condition::parse(&format!("W/{tag}"));
        prop_assert!(!weakened.matches_strong(version));
        prop_assert!(weakened.matches_weak(version));
    }

    #[test]
    fn a_star_matches_every_version(version in any::<i64>(), space in prop::sample::select(vec!["", " ", "\t", " \t "])) {
        let condition = Condition::parse(&format!("{space}*{space}"));
        prop_assert!(condition.matches_strong(version) && condition.matches_weak(version));
    }
}

#[test]
fn parses_lists_weak_tags_and_star() {
    assert!(Condition::parse("\"3\"").matches_strong(3));
    assert!(!Condition::parse("\"3\"").matches_strong(4));
    assert!(Condition::parse("\"1\", W/\"4\"").matches_weak(4));
    assert!(!Condition::parse("\"1\", W/\"4\"").matches_strong(4));
    assert!(Condition::parse("*").matches_strong(9));
    assert!(Condition::parse("3").matches_strong(3));
    assert!(!Condition::parse("\"abc\"").matches_weak(0));
    // A header that is not text: a tag that matches nothing.
    let mut headers = HeaderMap::new();
    headers.insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_bytes(b"\"\xff\"").unwrap(),
    );
    let condition = Condition::from_header(&headers, header::IF_NONE_MATCH).unwrap();
    assert!(!condition.matches_weak(0));
}
