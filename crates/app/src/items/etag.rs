//! ETags derived from the item version, and the conditional headers that use them.

use axum::http::{HeaderMap, HeaderValue, header};

/// The strong ETag of a version: the number in quotes.
pub fn of(version: i64) -> String {
    format!("\"{version}\"")
}

pub fn header_value(version: i64) -> HeaderValue {
    HeaderValue::from_str(&of(version)).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A parsed `If-Match` / `If-None-Match`: `*`, or a list of entity tags. Tags that are not
/// ours parse to versions that match nothing. Unquoted numbers are taken as tags too (lenient
/// towards clients that drop the quotes), but a weak tag stays weak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Any,
    Tags(Vec<Tag>),
}

/// One entity tag of a condition: our version number (`None` for a tag we never issue), and
/// whether it was marked weak (`W/"3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub version: Option<i64>,
    pub weak: bool,
}

impl Condition {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if raw == "*" {
            return Self::Any;
        }
        Self::Tags(
            raw.split(',')
                .map(|tag| {
                    let tag = tag.trim();
                    let (weak, tag) = match tag.strip_prefix("W/") {
                        Some(rest) => (true, rest),
                        None => (false, tag),
                    };
                    let tag = tag.trim_matches('"');
                    Tag {
                        version: tag.parse::<i64>().ok(),
                        weak,
                    }
                })
                .collect(),
        )
    }

    /// `If-Match`: RFC 9110 §13.1.1 requires the strong comparison, under which a weak tag
    /// matches nothing (our tags are all strong).
    pub fn matches_strong(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags
                .iter()
                .any(|tag| !tag.weak && tag.version == Some(version)),
        }
    }

    /// `If-None-Match`: RFC 9110 §13.1.2 uses the weak comparison, which ignores `W/`.
    pub fn matches_weak(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag.version == Some(version)),
        }
    }

    pub fn from_header(headers: &HeaderMap, name: header::HeaderName) -> Option<Self> {
        headers
            .get(name)
            .map(|v| Self::parse(v.to_str().unwrap_or("\"invalid\"")))
    }
}

#[cfg(test)]
#[path = "etag_props.rs"]
mod props;
