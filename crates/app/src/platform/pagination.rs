//! Pagination as the contract describes it: `limit` (1..100, default 20) with either `offset`
//! (and a `total`) or an opaque keyset `cursor` that stays stable under concurrent inserts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use utoipa::ToSchema;

use super::error::InvalidInput;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart<C> {
    Offset(u64),
    After(C),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    pub limit: u64,
    pub start: PageStart<C>,
}

impl<C> PageRequest<C> {
    /// Builds a request from already range-checked query values; `offset` and `cursor` together
    /// are refused.
    pub fn new(
        limit: Option<i64>,
        offset: Option<i64>,
        cursor: Option<&str>,
        decode: impl FnOnce(&str) -> Option<C>,
    ) -> Result<Self, InvalidInput> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as u64;
        let start = match (offset, cursor) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "cursor",
                    "use either offset or cursor, not both",
                ));
            }
            (_, Some(cursor)) => PageStart::After(
                decode(cursor).ok_or(InvalidInput::new("cursor", "invalid cursor"))?,
            ),
            (offset, None) => PageStart::Offset(offset.unwrap_or(0).max(0) as u64),
        };
        Ok(Self { limit, start })
    }

    /// Turns the `limit + 1` rows fetched for this page into the page: the extra row only tells
    /// that there is a next page, whose cursor is taken from the last row shown.
    pub fn finish<R, T>(
        &self,
        mut rows: Vec<R>,
        total: Option<u64>,
        cursor_of: impl FnOnce(&R) -> String,
        item: impl FnMut(R) -> T,
    ) -> Page<T> {
        let has_more = rows.len() as u64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        let next_cursor = if has_more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(item).collect(),
            limit: self.limit,
            offset: self.offset(),
            total,
            next_cursor,
        }
    }

    pub fn offset(&self) -> Option<u64> {
        match self.start {
            PageStart::Offset(offset) => Some(offset),
            PageStart::After(_) => None,
        }
    }
}

/// A page of results. `offset` and `total` are present in offset mode only; `nextCursor` is null
/// on the last page and otherwise continues with keyset pagination in either mode.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<u64>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Signs cursors so that clients treat them as opaque and a tampered or garbage cursor is
/// a clean `400` rather than a strange page.
#[derive(Clone)]
pub struct CursorCodec {
    key: [u8; 32],
}

const TAG_LEN: usize = 12;

impl CursorCodec {
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| {
            <Hmac<Sha256> as Mac>::new_from_slice(b"cursor").unwrap_or_else(|_| unreachable!())
        });
        mac.update(b"aios-server pagination cursor v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn tag(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payload);
        mac.finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    pub fn encode<T: Serialize>(&self, value: &T) -> String {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        let tag = self.tag(&payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    pub fn decode<T: DeserializeOwned>(&self, cursor: &str) -> Option<T> {
        if cursor.len() > 2048 {
            return None;
        }
        let (payload, tag) = cursor.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let expected = self.tag(&payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_slice(),
            tag.as_slice(),
        )) {
            return None;
        }
        serde_json::from_slice(&payload).ok()
    }
}

#[cfg(test)]
#[path = "pagination_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let codec = CursorCodec::new(b"secret");
        let cursor = codec.encode(&("name", 42));
        assert_eq!(
            codec.decode::<(String, i32)>(&cursor),
            Some(("name".to_owned(), 42))
        );
        let (payload, _) = cursor.split_once('.').unwrap_or_default();
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode(b"[\"name\",43]"), "AAAA");
        assert_eq!(codec.decode::<(String, i32)>(&forged), None);
        assert_eq!(codec.decode::<(String, i32)>(payload), None);
        assert_eq!(codec.decode::<(String, i32)>("garbage"), None);
        let other = CursorCodec::new(b"other");
        assert_eq!(other.decode::<(String, i32)>(&cursor), None);
    }

    #[test]
    fn offset_and_cursor_are_exclusive() {
        let both = PageRequest::<i32>::new(Some(5), Some(1), Some("x"), |_| Some(1));
        assert!(both.is_err());
        let bad = PageRequest::<i32>::new(None, None, Some("x"), |_| None);
        assert!(bad.is_err());
        let ok = PageRequest::<i32>::new(None, None, None, |_| None).ok();
        assert_eq!(ok.map(|p| (p.limit, p.offset())), Some((20, Some(0))));
    }
}
