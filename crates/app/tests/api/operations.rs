//! Metrics, security headers, CORS, request ids, compression, client versions, proxies.

use crate::helpers::TestApp;

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    app.get("/health/live").send().await.assert_status(200);
    let user = app.register().await;
    app.get(&format!("/api/data/{}", uuid::Uuid::now_v7()))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(404);
    let metrics = app.get("/metrics").send().await;
    metrics.assert_status(200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    let text = &metrics.text;
    let has = |needle: &str| {
        text.lines()
            .any(|l| l.starts_with("http_requests_total") && l.contains(needle))
    };
    assert!(has("route=\"/health/live\""), "{text}");
    assert!(
        has("route=\"/api/data/{id}\"") && has("status=\"404\""),
        "{text}"
    );
    assert!(
        !text.contains(&user.id.to_string()),
        "raw paths never become labels"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "a histogram"
    );
}

#[tokio::test]
async fn metrics_token_protects_the_endpoint() {
    let app = TestApp::builder()
        .env("METRICS_TOKEN", "metrics-secret-token")
        .spawn()
        .await;
    app.get("/metrics")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/metrics")
        .bearer("wrong")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/metrics")
        .bearer("metrics-secret-token")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn responses_carry_the_security_headers_and_no_server_banner() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").send().await;
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert!(response.header("content-security-policy").is_some());
    assert!(response.header("server").is_none());
    assert!(response.header("x-powered-by").is_none());
    assert!(
        response.header("strict-transport-security").is_none(),
        "not over plain HTTP"
    );
}

#[tokio::test]
async fn hsts_is_sent_behind_a_trusted_tls_proxy() {
    let app = TestApp::builder().env("TRUST_PROXY", "true").spawn().await;
    let response = app
        .get("/health")
        .header("x-forwarded-proto", "https")
        .send()
        .await;
    assert!(
        response
            .header("strict-transport-security")
            .is_some_and(|v| v.contains("max-age="))
    );
    let untrusted = TestApp::spawn().await;
    let response = untrusted
        .get("/health")
        .header("x-forwarded-proto", "https")
        .send()
        .await;
    assert!(response.header("strict-transport-security").is_none());
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_allow_list() {
    let closed = TestApp::spawn().await;
    let response = closed
        .get("/health")
        .header("origin", "https://app.example.com")
        .send()
        .await;
    assert!(response.header("access-control-allow-origin").is_none());

    let app = TestApp::builder()
        .env(
            "CORS_ORIGINS",
            "https://app.example.com, https://admin.example.com",
        )
        .spawn()
        .await;
    let preflight = app
        .request(reqwest::Method::OPTIONS, "/api/data")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(allowed.contains("idempotency-key"), "{allowed}");
    let other = app
        .get("/health")
        .header("origin", "https://evil.example.com")
        .send()
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let echoed = app
        .get("/health/live")
        .header("x-request-id", "client-abc_123")
        .send()
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("client-abc_123"));
    let long = "x".repeat(300);
    let replaced = app
        .get("/health/live")
        .header("x-request-id", &long)
        .send()
        .await;
    let id = replaced.header("x-request-id").expect("a request id");
    assert_ne!(id, long);
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let odd = app
        .get("/health/live")
        .header("x-request-id", "a{b}<c>")
        .send()
        .await;
    assert_ne!(odd.header("x-request-id"), Some("a{b}<c>"));
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_asks() {
    let app = TestApp::spawn().await;
    for encoding in ["gzip", "br"] {
        let response = app
            .get("/api/openapi.json")
            .header("accept-encoding", encoding)
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("content-encoding"), Some(encoding));
    }
}

#[tokio::test]
async fn old_app_versions_must_upgrade() {
    let app = TestApp::builder()
        .env("MIN_APP_VERSION", "2.1.0")
        .spawn()
        .await;
    let old = app
        .get("/api/users/me")
        .header("x-app-version", "2.0.9")
        .send()
        .await;
    old.assert_error(426, "UPGRADE_REQUIRED");
    let prerelease = app
        .get("/api/users/me")
        .header("x-app-version", "2.1.0-beta.1")
        .send()
        .await;
    prerelease.assert_error(426, "UPGRADE_REQUIRED");
    // Current and newer versions, and clients that send no version, go on to authentication.
    for version in [Some("2.1.0"), Some("v2.10"), None] {
        let mut request = app.get("/api/users/me");
        if let Some(version) = version {
            request = request.header("x-app-version", version);
        }
        request.send().await.assert_error(401, "UNAUTHORIZED");
    }
    let garbage = app
        .get("/api/users/me")
        .header("x-app-version", "banana")
        .send()
        .await;
    garbage.assert_error(400, "VALIDATION_FAILED");
    // Operations endpoints are not versioned API.
    app.get("/health")
        .header("x-app-version", "0.1")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn client_addresses_come_from_trusted_proxies_only() {
    let direct = TestApp::spawn().await;
    let user = direct.register().await;
    let sessions = direct
        .get("/api/auth/sessions")
        .bearer(&user.access)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await;
    assert_eq!(sessions.json["items"][0]["ip"], "127.0.0.1");

    let proxied = TestApp::builder().env("TRUST_PROXY", "1").spawn().await;
    let response = proxied
        .post("/api/auth/register")
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
        .json(&serde_json::json!({ "email": "proxy@example.com", "password": crate::helpers::PASSWORD }))
        .send()
        .await;
    response.assert_status(201);
    let token = response.json["accessToken"].as_str().expect("token");
    let sessions = proxied.get("/api/auth/sessions").bearer(token).send().await;
    assert_eq!(
        sessions.json["items"][0]["ip"], "203.0.113.9",
        "the hop the proxy appended"
    );
}
