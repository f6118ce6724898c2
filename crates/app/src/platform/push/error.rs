//! What went wrong with one notification, in the terms the caller acts on, and how that
//! becomes a job outcome.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};

use super::PushService;
use crate::platform::jobs::error::JobError;

/// A `Retry-After` further out than this is taken as this: a provider asking for days is
/// better asked again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The provider says the token is no longer valid: delete the device.
    #[error("the device token is no longer valid")]
    Gone,
    /// Rate limited, a provider error (5xx), a timeout or a connection failure: worth another
    /// attempt, after `retry_after` when the provider said when.
    #[error("{reason}")]
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Anything retrying cannot fix (a malformed message, refused credentials).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// This provider has no configuration here; nothing was sent.
    #[error("{0} is not configured")]
    NotConfigured(PushService),
    /// The provider's circuit is open: nothing was sent; it admits a call after `retry_in`.
    #[error("the {service} circuit is open for {retry_in:?}")]
    CircuitOpen {
        service: PushService,
        retry_in: Duration,
    },
}

impl PushError {
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// The usual reading of a failed HTTP answer: 429 and 5xx are worth retrying (after
    /// `Retry-After`), anything else is not. Providers handle their own codes first.
    pub(crate) fn from_status(
        service: PushService,
        status: StatusCode,
        headers: &HeaderMap,
        detail: &str,
    ) -> Self {
        let reason = format!("{service} answered {status}: {detail}");
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Self::Retry {
                reason,
                retry_after: retry_after(headers),
            }
        } else {
            Self::Permanent(reason)
        }
    }

    /// A request that got no answer: timeouts and connection failures are transient; a
    /// request that could not even be built is not.
    pub(crate) fn from_transport(service: PushService, err: reqwest::Error) -> Self {
        let builder = err.is_builder();
        // The URL may hold a device token: keep it out of the reason, which is logged.
        let err = err.without_url();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        if builder {
            Self::Permanent(format!("{service}: cannot build the request: {text}"))
        } else {
            Self::retry(format!("{service} did not answer: {text}"))
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, bounded.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The runner's reading. Callers handle `Gone` (delete the device) and `NotConfigured` (skip)
/// before this; should one arrive anyway, retrying cannot help it.
impl From<PushError> for JobError {
    fn from(err: PushError) -> Self {
        match err {
            PushError::Retry {
                reason,
                retry_after,
            } => JobError::Retry {
                reason,
                retry_after,
            },
            PushError::CircuitOpen { service, retry_in } => JobError::Defer {
                after: retry_in,
                reason: format!("the {service} circuit is open"),
            },
            PushError::Permanent(reason) => JobError::Permanent(reason),
            gone @ (PushError::Gone | PushError::NotConfigured(_)) => {
                JobError::Permanent(gone.to_string())
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_bounded() {
        assert_eq!(
            retry_after(&with_retry_after("120")),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&with_retry_after("9999999")),
            Some(MAX_RETRY_AFTER)
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = retry_after(&with_retry_after(&soon.replace("+0000", "GMT"))).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(retry_after(&with_retry_after(past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&with_retry_after("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn statuses_split_into_retry_and_permanent_and_map_onto_job_errors() {
        let headers = with_retry_after("30");
        let rate_limited = PushError::from_status(
            PushService::Fcm,
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            "quota",
        );
        assert!(matches!(
            JobError::from(rate_limited),
            JobError::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(30)
        ));
        let unavailable = PushError::from_status(
            PushService::Fcm,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "",
        );
        assert!(matches!(
            unavailable,
            PushError::Retry {
                retry_after: None,
                ..
            }
        ));
        let bad =
            PushError::from_status(PushService::Fcm, StatusCode::BAD_REQUEST, &headers, "bad");
        assert!(matches!(JobError::from(bad), JobError::Permanent(_)));
        let open = PushError::CircuitOpen {
            service: PushService::Apns,
            retry_in: Duration::from_secs(7),
        };
        assert!(matches!(
            JobError::from(open),
            JobError::Defer { after, .. } if after == Duration::from_secs(7)
        ));
        assert!(matches!(
            JobError::from(PushError::Gone),
            JobError::Permanent(_)
        ));
    }
}
