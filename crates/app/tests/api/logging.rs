//! Logging: one line per request with method, route, status, latency and request id; no
//! password, token, `Authorization` or `Cookie` value ever.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, captured_logs};

fn log_lines_of(request_id: &str) -> Vec<Value> {
    captured_logs()
        .lines()
        .filter(|line| line.contains(request_id))
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test]
async fn each_request_is_logged_once_with_route_status_and_latency() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let response = app
        .get(&format!("/api/data/{}", Uuid::now_v7()))
        .bearer(&user.access)
        .send()
        .await;
    response.assert_status(404);
    let request_id = response.header("x-request-id").expect("request id");
    let lines: Vec<Value> = log_lines_of(request_id)
        .into_iter()
        .filter(|l| l["status"].is_number())
        .collect();
    assert_eq!(lines.len(), 1, "one request line: {lines:?}");
    let line = &lines[0];
    assert_eq!(line["status"], 404);
    assert!(line["latency_ms"].is_number());
    assert_eq!(
        line["span"]["route"], "/api/data/{id}",
        "the template, not the raw path"
    );
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["request_id"], request_id);
}

#[tokio::test]
async fn passwords_tokens_and_cookies_never_reach_the_log() {
    let app = TestApp::spawn().await;
    let password = format!("Pw-{}", Uuid::new_v4().simple());
    let email = format!("redact-{}@example.com", Uuid::new_v4().simple());
    let register = app
        .post("/api/auth/register")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await;
    register.assert_status(201);
    let access = register.json["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let refresh = register.json["refreshToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let wrong_password = format!("Wrong-{}", Uuid::new_v4().simple());
    let failed = app.login(&email, &wrong_password).await;
    failed.assert_status(401);
    let cookie = format!("session={}", Uuid::new_v4().simple());
    let me = app
        .get("/api/users/me")
        .bearer(&access)
        .header("cookie", &cookie)
        .send()
        .await;
    me.assert_status(200);
    let refreshed = app
        .post("/api/auth/refresh")
        .json(&json!({ "refreshToken": refresh }))
        .send()
        .await;
    refreshed.assert_status(200);
    app.wait_for_email(&email.to_lowercase(), "Confirm").await;

    let logs = captured_logs();
    for response in [&register, &failed, &me, &refreshed] {
        let id = response.header("x-request-id").expect("request id");
        assert!(logs.contains(id), "request {id} was logged");
    }
    for secret in [&password, &wrong_password, &access, &refresh, &cookie] {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the log"
        );
    }
    let new_refresh = refreshed.json["refreshToken"].as_str().expect("token");
    assert!(!logs.contains(new_refresh));
    // The JWT's signature is the secret part; not even that may appear.
    let signature = access.rsplit('.').next().expect("signature");
    assert!(!logs.contains(signature));
}

#[tokio::test]
async fn security_events_are_audited() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    app.login(&user.email, "definitely wrong password")
        .await
        .assert_status(401);
    let logs = captured_logs();
    let user_id = user.id.to_string();
    let audited = |event: &str| {
        logs.lines().any(|l| {
            l.contains("\"target\":\"audit\"") && l.contains(event) && l.contains(&user_id)
        })
    };
    assert!(audited("user.registered"));
    assert!(audited("login.failure"));
}
