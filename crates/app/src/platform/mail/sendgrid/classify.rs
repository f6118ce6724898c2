//! SendGrid's answers as [`MailError`]s, following its documented responses.
//!
//! 2xx is accepted. 429 and 5xx are transient, after `Retry-After` (or SendGrid's
//! `X-RateLimit-Reset`) when given. 401 and 403 are transient too: a revoked key or an
//! unverified sender identity is our configuration, never the message, so the messages wait
//! (the breaker opens and `/health` shows it) instead of being given up. Every other 4xx (400 a
//! body SendGrid refuses, 413 too large) is permanent: the same request will be refused again.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::platform::mail::{MailError, retry_after};

/// Error bodies are kept for diagnosis, but bounded: they end up in job rows.
const MAX_BODY_CHARS: usize = 300;

pub(super) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> Result<(), MailError> {
    if status.is_success() {
        return Ok(());
    }
    let code = Some(status.as_u16());
    let reason = format!("SendGrid answered {status}: {}", summarize(body));
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(MailError::transient(
            reason,
            code,
            hint(headers, SystemTime::now()),
        ));
    }
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        let reason = format!("{reason} (check SENDGRID_API_KEY and the MAIL_FROM sender identity)");
        return Err(MailError::transient(reason, code, None));
    }
    if status.is_client_error() {
        return Err(MailError::permanent(reason, code));
    }
    // 1xx or 3xx (redirects are not followed): unexpected; retry rather than lose the message.
    Err(MailError::transient(reason, code, None))
}

/// `Retry-After` first; on 429 SendGrid documents `X-RateLimit-Reset` (epoch seconds) instead.
fn hint(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    get("retry-after")
        .and_then(|v| retry_after::parse(v, now))
        .or_else(|| get("x-ratelimit-reset").and_then(|v| retry_after::parse_reset_epoch(v, now)))
}

/// SendGrid errors look like `{"errors":[{"message":"...","field":"..."}]}`: keep the messages.
fn summarize(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        message: Option<String>,
        field: Option<String>,
    }
    let text = match serde_json::from_str::<Errors>(body) {
        Ok(e) => e
            .errors
            .into_iter()
            .map(|i| match (i.field, i.message) {
                (Some(f), Some(m)) => format!("{f}: {m}"),
                (None, Some(m)) => m,
                (Some(f), None) => f,
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => body.trim().to_owned(),
    };
    text.chars().take(MAX_BODY_CHARS).collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn outcome(status: StatusCode) -> Result<(), MailError> {
        classify(status, &HeaderMap::new(), "")
    }

    #[test]
    fn statuses_map_to_what_a_retry_can_change() {
        assert!(outcome(StatusCode::ACCEPTED).is_ok());
        for permanent in [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE] {
            assert!(
                outcome(permanent).unwrap_err().is_permanent(),
                "{permanent}"
            );
        }
        for transient in [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::FOUND,
        ] {
            assert!(
                outcome(transient).unwrap_err().is_transient(),
                "{transient}"
            );
        }
    }

    #[test]
    fn rate_limit_reset_is_used_without_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            hint(&with("x-ratelimit-reset", "1060"), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            hint(&with("retry-after", "7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(hint(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_body_is_summarized_and_bounded() {
        let body = r#"{"errors":[{"message":"does not contain a valid address","field":"personalizations.0.to.0.email"}]}"#;
        assert_eq!(
            summarize(body),
            "personalizations.0.to.0.email: does not contain a valid address"
        );
        assert_eq!(summarize(&"x".repeat(1000)).len(), MAX_BODY_CHARS);
    }
}
