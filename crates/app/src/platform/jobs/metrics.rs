//! The job metrics: outcomes by job type, queue depth by state, outbox lag.

use std::collections::HashMap;
use std::time::Duration;

use super::store::JobState;

/// Creates the outcome series of `queue` at zero when its worker starts, so that `increase()`
/// over them (the dead-job alert) sees the first dead job rather than a series appearing at 1.
pub fn register(queue: &str) {
    for name in [
        "jobs_completed_total",
        "jobs_failed_total",
        "jobs_retried_total",
        "jobs_dead_total",
    ] {
        metrics::counter!(name, "type" => queue.to_owned()).increment(0);
    }
}

pub fn completed(queue: &str) {
    metrics::counter!("jobs_completed_total", "type" => queue.to_owned()).increment(1);
}

/// Every failed attempt, whatever happens next.
pub fn failed(queue: &str) {
    metrics::counter!("jobs_failed_total", "type" => queue.to_owned()).increment(1);
}

pub fn retried(queue: &str) {
    metrics::counter!("jobs_retried_total", "type" => queue.to_owned()).increment(1);
}

pub fn dead(queue: &str) {
    metrics::counter!("jobs_dead_total", "type" => queue.to_owned()).increment(1);
}

pub fn deferred(queue: &str) {
    metrics::counter!("jobs_deferred_total", "type" => queue.to_owned()).increment(1);
}

pub fn outbox_lag(lag: Duration) {
    metrics::gauge!("outbox_lag_seconds").set(lag.as_secs_f64());
}

/// Sets the depth of every (queue, state) seen, zero included, so that a drained state reads 0
/// rather than its last value.
pub fn depth(rows: &[(String, JobState, u64)], states: &[JobState]) {
    let mut by_queue: HashMap<&str, HashMap<JobState, u64>> = HashMap::new();
    for (queue, state, n) in rows {
        *by_queue
            .entry(queue)
            .or_default()
            .entry(*state)
            .or_default() += n;
    }
    for (queue, counts) in by_queue {
        for state in states {
            let n = counts.get(state).copied().unwrap_or(0);
            metrics::gauge!("jobs_queue_depth", "type" => queue.to_owned(), "state" => state.as_str())
                .set(n as f64);
        }
    }
}
