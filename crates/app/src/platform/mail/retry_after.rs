//! `Retry-After` (RFC 9110 §10.2.3): either delta-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value relative to `now`. A date in the past means "now" (zero);
/// anything unparsable is `None`, so the caller falls back to its own backoff.
pub(super) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// SendGrid documents `X-RateLimit-Reset` (a Unix timestamp) on 429 rather than `Retry-After`;
/// used only when `Retry-After` is absent.
pub(super) fn parse_reset_epoch(value: &str, now: SystemTime) -> Option<Duration> {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(value.trim().parse::<u64>().ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn http_date_in_future_and_past() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:07 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(parse("soon", now()), None);
        assert_eq!(parse("-5", now()), None);
        assert_eq!(parse("", now()), None);
    }

    #[test]
    fn rate_limit_reset_epoch() {
        assert_eq!(
            parse_reset_epoch("784111787", now()),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_reset_epoch("1", now()), Some(Duration::ZERO));
        assert_eq!(parse_reset_epoch("x", now()), None);
    }
}
