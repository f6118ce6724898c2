//! Prometheus metrics. One recorder per process (the `metrics` facade is global); `/metrics`
//! renders it, followed by what is sampled at scrape time (`sampled`): the connection pools of
//! the scraped application and the process's own memory, CPU and descriptors. Every series is
//! documented in `docs/operations.md`.

pub mod process;
pub mod sampled;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Queries are faster than requests: finer buckets below a millisecond.
const QUERY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The commit the binary was built from: `AIOS_GIT_COMMIT` at compile time (the Dockerfile
/// passes it as a build argument), else `unknown`.
pub const GIT_COMMIT: &str = match option_env!("AIOS_GIT_COMMIT") {
    Some(commit) if !commit.is_empty() => commit,
    _ => "unknown",
};

/// Installs the recorder on first call and returns the shared handle.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    DURATION_BUCKETS,
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("push_delivery_duration_seconds".to_owned()),
                        DURATION_BUCKETS,
                    )
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("db_query_duration_seconds".to_owned()),
                        QUERY_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            describe();
            metrics::gauge!(
                "aios_build_info",
                "version" => env!("CARGO_PKG_VERSION"),
                "commit" => GIT_COMMIT
            )
            .set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_gauge!(
        "http_requests_in_flight",
        "HTTP requests being handled now (their response not yet produced)"
    );
    metrics::describe_histogram!(
        "db_query_duration_seconds",
        metrics::Unit::Seconds,
        "Time of one SQL statement of the application pool, by statement kind and outcome"
    );
    metrics::describe_counter!(
        "cache_hits_total",
        "Cache reads that found an entry, by cache (session, item, idempotency)"
    );
    metrics::describe_counter!(
        "cache_misses_total",
        "Cache reads that found nothing (or could not ask Redis), by cache"
    );
    metrics::describe_counter!(
        "rate_limit_rejections_total",
        "Requests refused with 429 RATE_LIMITED, by budget tier"
    );
    for (name, help) in [
        ("jobs_completed_total", "Jobs that succeeded, by type"),
        (
            "jobs_failed_total",
            "Failed job attempts, whatever follows, by type",
        ),
        (
            "jobs_retried_total",
            "Failed job attempts that will run again, by type",
        ),
        (
            "jobs_dead_total",
            "Jobs that failed their last attempt, by type",
        ),
        (
            "jobs_deferred_total",
            "Job attempts put off because the provider's circuit is open, by type",
        ),
        (
            "mail_messages_total",
            "Emails by outcome (sent, rejected, failed, deferred)",
        ),
        (
            "circuit_breaker_transitions_total",
            "Circuit breaker changes, by provider and new state",
        ),
    ] {
        metrics::describe_counter!(name, help);
    }
    metrics::describe_gauge!(
        "jobs_queue_depth",
        "Jobs in the queues by type and state (pending, running, failed, dead, done)"
    );
    metrics::describe_gauge!(
        "outbox_lag_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest outbox event not yet moved into a job queue (0 when none)"
    );
    metrics::describe_gauge!(
        "circuit_breaker_state",
        "A provider's circuit breaker: 0 closed, 1 half open, 2 open"
    );
    metrics::describe_gauge!(
        "aios_build_info",
        "Always 1; the version and git commit of the running binary as labels"
    );
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route and status"
    );
    metrics::describe_counter!(
        "push_sent_total",
        "Push notifications the provider accepted, by provider"
    );
    metrics::describe_counter!(
        "push_failed_total",
        "Push notifications not accepted, by provider and kind (retry, permanent, circuit_open)"
    );
    metrics::describe_counter!(
        "push_pruned_total",
        "Push notifications whose device token the provider said is gone, by provider"
    );
    metrics::describe_histogram!(
        "push_delivery_duration_seconds",
        metrics::Unit::Seconds,
        "Time a provider took to answer one push notification, by provider"
    );
}

/// `route` must be a route template or a fixed word, never a raw path: every distinct label
/// value is a new series kept for the life of the process.
pub fn record_request(method: &str, route: &str, status: u16, latency: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(latency.as_secs_f64());
}

/// Clients may send any token as a method; each would otherwise become a series of its own.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// One request in flight: counted in `http_requests_in_flight` until dropped.
pub struct InFlight(());

impl InFlight {
    pub fn start() -> Self {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}

/// One statement of the application pool (SeaORM's metric callback).
pub fn record_query(sql: &str, elapsed: Duration, failed: bool) {
    let labels = [
        ("statement", statement_kind(sql)),
        ("outcome", if failed { "error" } else { "ok" }),
    ];
    metrics::histogram!("db_query_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// The statement's leading keyword, from a fixed set (the SQL itself never becomes a label).
fn statement_kind(sql: &str) -> &'static str {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next();
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("select" | "with") => "select",
        Some("insert") => "insert",
        Some("update") => "update",
        Some("delete") => "delete",
        Some("begin" | "commit" | "rollback" | "savepoint" | "release") => "transaction",
        _ => "other",
    }
}

/// A cache read of `key`; the cache is named by the key's prefix (`session:`, `item:`, `idem:`).
pub fn cache_lookup(key: &str, hit: bool) {
    let cache = match key.split_once(':').map(|(prefix, _)| prefix) {
        Some("session") => "session",
        Some("item") => "item",
        Some("idem") => "idempotency",
        _ => "other",
    };
    let name = if hit {
        "cache_hits_total"
    } else {
        "cache_misses_total"
    };
    metrics::counter!(name, "cache" => cache).increment(1);
}

/// A request refused by the budget `tier`.
pub fn rate_limited(tier: &str) {
    let tier = match tier {
        "anon" => "anon",
        "user" => "user",
        "auth-ip" => "auth-ip",
        "auth-account" => "auth-account",
        "account" => "account",
        "verify-user" => "verify-user",
        "verify-address" => "verify-address",
        _ => "other",
    };
    metrics::counter!("rate_limit_rejections_total", "tier" => tier).increment(1);
}

pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::{method_label, statement_kind};

    #[test]
    fn statements_are_labelled_by_their_leading_keyword_only() {
        assert_eq!(statement_kind("SELECT 1"), "select");
        assert_eq!(statement_kind("  insert INTO t"), "insert");
        assert_eq!(statement_kind("WITH x AS (SELECT 1) SELECT *"), "select");
        assert_eq!(statement_kind("BEGIN"), "transaction");
        assert_eq!(statement_kind("VACUUM"), "other");
        assert_eq!(statement_kind(""), "other");
    }

    #[test]
    fn only_known_methods_are_labelled_by_name() {
        assert_eq!(method_label("PATCH"), "PATCH");
        for odd in ["get", "TRACE", "CONNECT", "X12345", ""] {
            assert_eq!(method_label(odd), "other", "{odd}");
        }
    }
}
