//! What each job type declares about itself: how many run at once, how long one may take, how
//! often and how patiently it is retried, and how long a dead worker's jobs wait before they run
//! elsewhere. Slow jobs get their own queue and limits, so they never hold fast ones up.

use std::time::Duration;

use rand::RngExt as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSpec {
    /// Jobs of this type running at once in one process (all types together are also bounded by
    /// `WORKER_CONCURRENCY`).
    pub concurrency: usize,
    /// One attempt running longer than this fails (and is retried like any failure).
    pub timeout: Duration,
    /// Attempts in all, the first included; after the last failed one the job is dead.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles with every further one.
    pub backoff_base: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
    /// How long the jobs of a worker that died wait before another worker runs them;
    /// `JOBS_LEASE_SECS` when `None`. Workers heartbeat every third of it.
    pub lease: Option<Duration>,
}

impl Default for JobSpec {
    fn default() -> Self {
        Self {
            concurrency: 4,
            timeout: Duration::from_secs(30),
            max_attempts: 8,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
            lease: None,
        }
    }
}

impl JobSpec {
    /// The wait before the attempt after `failed_attempt` (1 for the first): exponential, capped,
    /// with "equal jitter" (between half and all of it), so that jobs failing together do not all
    /// retry at the same instant.
    pub fn backoff(&self, failed_attempt: u32) -> Duration {
        let doublings = failed_attempt.saturating_sub(1).min(30);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let spec = JobSpec {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..JobSpec::default()
        };
        for _ in 0..100 {
            let first = spec.backoff(1);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let third = spec.backoff(3);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8));
            let late = spec.backoff(40);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }
}
