//! ETags derived from the item version, and the conditional headers that use them.

use axum::http::{HeaderMap, HeaderValue, header};

/// The strong ETag of a version: the number in quotes.
pub fn of(version: i64) -> String {
    format!("\"{version}\"")
}

pub fn header_value(version: i64) -> HeaderValue {
    HeaderValue::from_str(&of(version)).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A parsed `If-Match` / `If-None-Match`: `*`, or a list of versions. Tags that are not ours
/// parse to versions that match nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Any,
    Versions(Vec<Option<i64>>),
}

impl Condition {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if raw == "*" {
            return Self::Any;
        }
        Self::Versions(
            raw.split(',')
                .map(|tag| {
                    let tag = tag.trim();
                    let tag = tag.strip_prefix("W/").unwrap_or(tag);
                    let tag = tag.trim_matches('"');
                    tag.parse::<i64>().ok()
                })
                .collect(),
        )
    }

    pub fn matches(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(versions) => versions.contains(&Some(version)),
        }
    }

    pub fn from_header(headers: &HeaderMap, name: header::HeaderName) -> Option<Self> {
        headers
            .get(name)
            .map(|v| Self::parse(v.to_str().unwrap_or("\"invalid\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::Condition;

    #[test]
    fn parses_lists_weak_tags_and_star() {
        assert!(Condition::parse("\"3\"").matches(3));
        assert!(!Condition::parse("\"3\"").matches(4));
        assert!(Condition::parse("\"1\", W/\"4\"").matches(4));
        assert!(Condition::parse("*").matches(9));
        assert!(Condition::parse("3").matches(3));
        assert!(!Condition::parse("\"abc\"").matches(0));
    }
}
