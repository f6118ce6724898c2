//! How a job tells the runner what to do after a failure: retry it (spending an attempt), give
//! up at once, or wait for a provider that is known to be down without spending one.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// May succeed later: run again after the job type's backoff, or after `retry_after` when
    /// the other side said when (`Retry-After`). Spends an attempt.
    #[error("{reason}")]
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed (a rejected address, a malformed payload): dead at once, kept with
    /// the reason.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The provider is known to be down (its circuit breaker is open): run again after `after`
    /// without spending an attempt.
    #[error("deferred for {after:?}: {reason}")]
    Defer { after: Duration, reason: String },
}

impl JobError {
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        Self::Retry {
            reason: reason.to_string(),
            retry_after: None,
        }
    }
}

/// Anything unexpected (a database error, a bug) is worth another attempt.
impl From<anyhow::Error> for JobError {
    fn from(err: anyhow::Error) -> Self {
        Self::retry(format!("{err:#}"))
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::retry(err)
    }
}
