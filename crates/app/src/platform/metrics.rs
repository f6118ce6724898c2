//! Prometheus metrics. One recorder per process (the `metrics` facade is global); `/metrics`
//! renders it.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
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

pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::method_label;

    #[test]
    fn only_known_methods_are_labelled_by_name() {
        assert_eq!(method_label("PATCH"), "PATCH");
        for odd in ["get", "TRACE", "CONNECT", "X12345", ""] {
            assert_eq!(method_label(odd), "other", "{odd}");
        }
    }
}
