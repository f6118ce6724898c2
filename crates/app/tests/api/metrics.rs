//! `/metrics`: bounded label values whatever clients send, and the separate listener.

use std::collections::BTreeSet;

use axum::routing::get;
use rand::RngExt as _;
use reqwest::Method;

use crate::helpers::TestApp;

/// The `(method, route, status)` labels of every `http_requests_total` series.
fn series(metrics: &str) -> BTreeSet<(String, String, String)> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("http_requests_total{"))
        .filter_map(|rest| rest.rsplit_once('}').map(|(labels, _)| labels))
        .map(|labels| {
            let value = |key: &str| {
                labels
                    .split_once(&format!("{key}=\""))
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(value, _)| value.to_owned())
                    .unwrap_or_default()
            };
            (value("method"), value("route"), value("status"))
        })
        .collect()
}

fn random_token(rng: &mut impl rand::Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
        .collect()
}

fn nested_routes() -> axum::Router {
    let inner = axum::Router::new().route("/{id}", get(|| async { "nested" }));
    axum::Router::new().nest("/test/nested", inner)
}

#[tokio::test]
async fn random_methods_and_paths_add_no_metric_series() {
    let app = TestApp::builder().route(nested_routes()).spawn().await;
    let before = series(&app.get("/metrics").send().await.text);
    let mut rng = rand::rng();
    let mut sent = Vec::new();
    for i in 0..300 {
        let token = random_token(&mut rng, 12);
        let method = match i % 3 {
            0 => Method::from_bytes(format!("X{token}").as_bytes()).unwrap(),
            1 => Method::GET,
            _ => Method::DELETE,
        };
        let path = match i % 5 {
            0 => format!("/{token}"),
            1 => format!("/api/data/{token}"),
            2 => format!("/api/{token}/{token}"),
            3 => format!("/test/nested/{token}"),
            _ => format!("/test/nested/{token}/deeper"),
        };
        let _ = app.request(method, &path).send().await;
        sent.push(token);
    }
    let text = app.get("/metrics").send().await.text;
    let after = series(&text);

    for token in &sent {
        assert!(!text.contains(token.as_str()), "{token} reached /metrics");
    }
    let methods: BTreeSet<&str> = after.iter().map(|(m, _, _)| m.as_str()).collect();
    let allowed = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
    ];
    assert!(
        methods.iter().all(|m| allowed.contains(m)),
        "methods: {methods:?}"
    );
    let routes: BTreeSet<&str> = after.iter().map(|(_, r, _)| r.as_str()).collect();
    assert!(
        routes
            .iter()
            .all(|r| r.starts_with('/') || *r == "unmatched"),
        "routes: {routes:?}"
    );
    assert!(routes.contains("/test/nested/{id}"), "{routes:?}");
    // Three methods over a handful of templates and statuses; other tests running at the same
    // time add their own few series to the shared recorder.
    let added = after.difference(&before).count();
    assert!(
        added <= 60,
        "{added} new series: {:?}",
        after.difference(&before)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

#[tokio::test]
async fn with_metrics_addr_metrics_are_served_only_on_that_listener() {
    let port = free_port();
    let app = TestApp::builder()
        .env("METRICS_ADDR", &format!("127.0.0.1:{port}"))
        .spawn()
        .await;
    app.get("/health/live").send().await.assert_status(200);
    app.get("/metrics")
        .send()
        .await
        .assert_error(404, "NOT_FOUND");

    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
    let other = client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves metrics only"
    );
}

#[tokio::test]
async fn the_metrics_listener_still_checks_a_configured_token() {
    let port = free_port();
    let _app = TestApp::builder()
        .env("METRICS_ADDR", &format!("127.0.0.1:{port}"))
        .env("METRICS_TOKEN", "metrics-secret-token")
        .spawn()
        .await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let client = reqwest::Client::new();
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let allowed = client
        .get(&url)
        .bearer_auth("metrics-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}
