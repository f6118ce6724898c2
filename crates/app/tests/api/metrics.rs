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

/// The value of the series `name{labels}` (exactly those labels, in the exporter's order), or
/// of `name` without labels; the sum when several series match a prefix such as `name{`.
fn value(metrics: &str, series: &str) -> Option<f64> {
    let values: Vec<f64> = metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            let matches = if series.ends_with('{') {
                name.starts_with(series)
            } else {
                name == series
            };
            matches.then(|| value.parse().ok()).flatten()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").send().await;
    response.assert_status(200);
    response.text
}

fn must(metrics: &str, series: &str) -> f64 {
    value(metrics, series).unwrap_or_else(|| panic!("{series} missing from /metrics"))
}

#[tokio::test]
async fn requests_in_flight_are_counted_while_they_run() {
    let app = TestApp::builder()
        .route(axum::Router::new().route(
            "/test/slow-metrics",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(800)).await;
                "done"
            }),
        ))
        .spawn()
        .await;
    let idle = must(&scrape(&app).await, "http_requests_in_flight");
    assert!(idle >= 1.0, "the scrape itself is in flight: {idle}");
    let client = app.client.clone();
    let url = app.url("/test/slow-metrics");
    let slow: Vec<_> = (0..3)
        .map(|_| tokio::spawn(client.get(url.clone()).send()))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = must(&scrape(&app).await, "http_requests_in_flight");
    assert!(busy >= 4.0, "three slow requests and the scrape: {busy}");
    for request in slow {
        request.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn pool_gauges_describe_the_scraped_applications_pools() {
    let app = TestApp::builder()
        .env("DATABASE_POOL_SIZE", "7")
        .env("JOBS_POOL_SIZE", "2")
        .spawn()
        .await;
    let text = scrape(&app).await;
    assert_eq!(
        value(&text, "db_pool_max_connections{pool=\"app\"}"),
        Some(7.0)
    );
    assert!(value(&text, "db_pool_max_connections{pool=\"jobs\"}").is_some());
    let idle = must(&text, "db_pool_connections{pool=\"app\",state=\"idle\"}");
    let in_use = must(&text, "db_pool_connections{pool=\"app\",state=\"in_use\"}");
    assert!(
        idle + in_use >= 1.0 && idle + in_use <= 7.0,
        "{idle} + {in_use}"
    );
}

#[tokio::test]
async fn queries_cache_reads_and_rate_limit_rejections_move_their_series() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_ANON_PER_MIN", "3")
        .spawn()
        .await;
    let before = scrape(&app).await;
    let user = app.register().await;
    let created = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&serde_json::json!({ "name": "metered" }))
        .send()
        .await;
    created.assert_status(201);
    let path = format!("/api/data/{}", created.json["id"].as_str().unwrap());
    for _ in 0..2 {
        app.get(&path)
            .bearer(&user.access)
            .send()
            .await
            .assert_status(200);
    }
    for _ in 0..4 {
        let _ = app.get("/api/users/me").send().await;
    }
    let after = scrape(&app).await;

    let grew = |series: &str| {
        let (b, a) = (value(&before, series).unwrap_or(0.0), must(&after, series));
        assert!(a > b, "{series}: {b} then {a}");
    };
    grew("db_query_duration_seconds_count{statement=\"insert\",outcome=\"ok\"}");
    grew("db_query_duration_seconds_count{statement=\"select\",outcome=\"ok\"}");
    grew("cache_hits_total{cache=\"item\"}");
    grew("cache_misses_total{cache=\"item\"}");
    grew("cache_misses_total{cache=\"session\"}");
    grew("rate_limit_rejections_total{tier=\"anon\"}");
    assert!(
        after.contains("# TYPE db_query_duration_seconds histogram"),
        "{after}"
    );
}

#[tokio::test]
async fn process_and_build_series_are_reported() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    // Some CPU work: a password hash.
    app.register().await;
    let after = scrape(&app).await;
    let rss = must(&after, "process_resident_memory_bytes");
    assert!(rss > 4.0 * 1024.0 * 1024.0, "{rss}");
    let fds = must(&after, "process_open_fds");
    assert!(
        fds >= 3.0 && fds <= must(&after, "process_max_fds"),
        "{fds}"
    );
    assert!(must(&after, "process_threads") >= 1.0);
    let cpu = (
        must(&before, "process_cpu_seconds_total"),
        must(&after, "process_cpu_seconds_total"),
    );
    assert!(cpu.1 > cpu.0, "CPU seconds {cpu:?}");
    assert!(after.contains("# TYPE process_cpu_seconds_total counter"));
    let build = format!(
        "aios_build_info{{version=\"{}\",commit=\"",
        env!("CARGO_PKG_VERSION")
    );
    let line = after
        .lines()
        .find(|l| l.starts_with(&build))
        .unwrap_or_else(|| panic!("no {build} in /metrics"));
    assert!(line.ends_with("} 1"), "{line}");
}

/// The metric names a PromQL expression selects: identifiers outside label matchers, range
/// brackets and `by (...)` lists that are not functions, aggregations or keywords.
fn selected_series(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let (mut names, mut i, mut depth) = (Vec::new(), 0, 0usize);
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' || c == '[' {
            depth += 1;
        } else if c == '}' || c == ']' {
            depth = depth.saturating_sub(1);
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
        } else if c == '(' && skip_list {
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_list = false;
        } else if depth == 0 && (c.is_ascii_alphabetic() || c == '_') {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let rest: String = chars[i..].iter().collect::<String>();
            let rest = rest.trim_start();
            // A function, or an aggregation with its grouping first: `sum by (le) (...)`.
            let applied = rest.starts_with('(')
                || rest.starts_with("by ")
                || rest.starts_with("by(")
                || rest.starts_with("without");
            match word.as_str() {
                "by" | "without" | "on" | "ignoring" => skip_list = true,
                "and" | "or" | "unless" | "bool" | "offset" => {}
                _ if applied => {}
                _ => names.push(word),
            }
            continue;
        }
        i += 1;
    }
    names
}

#[tokio::test]
async fn every_alert_uses_a_series_the_server_exports_and_every_series_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
    let app = TestApp::spawn().await;
    // The in-process worker sets its gauges at once; wait for them.
    let mut text = scrape(&app).await;
    for _ in 0..50 {
        if text.contains("# TYPE outbox_lag_seconds") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = scrape(&app).await;
    }
    let exported: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();

    let exprs: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("expr:"))
        .collect();
    let alerts = rules.matches("- alert:").count();
    assert_eq!(exprs.len(), alerts, "one single-line expr per alert");
    assert!(alerts >= 6);
    for expr in exprs {
        let names = selected_series(expr);
        assert!(!names.is_empty(), "no series in {expr}");
        for name in names {
            let base = name.strip_suffix("_bucket").unwrap_or(&name);
            // `up` is Prometheus's own, about the scrape.
            assert!(
                base == "up" || exported.contains(base),
                "{name} in `{expr}` is not exported: {exported:?}"
            );
        }
    }
    for name in &exported {
        assert!(
            docs.contains(&format!("`{name}`")),
            "{name} is exported but not documented in docs/operations.md"
        );
    }
    for name in [
        "jobs_dead_total",
        "outbox_lag_seconds",
        "db_pool_connections",
    ] {
        assert!(exported.contains(name), "{name}: {exported:?}");
    }
}

#[test]
fn series_are_found_in_promql() {
    assert_eq!(
        selected_series(
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket\
             {route!~\"/a.*\"}[5m]))) > 1 and on (instance) up == 1"
        ),
        ["http_request_duration_seconds_bucket", "up"]
    );
}
