//! Every error status of the foundation, in the contract's format.

use axum::routing::get;
use serde_json::json;

use crate::helpers::{TestApp, captured_logs};

#[tokio::test]
async fn unknown_routes_are_404_in_the_contract_format() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/does-not-exist").send().await;
    response.assert_error(404, "NOT_FOUND");
    assert_eq!(
        response.json["requestId"].as_str(),
        response.header("x-request-id"),
        "the body quotes the request id of the response header"
    );
    assert!(
        response.json.get("details").is_none(),
        "details only on validation errors"
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::PATCH, "/api/auth/login")
        .send()
        .await;
    response.assert_error(405, "METHOD_NOT_ALLOWED");
    assert!(
        response.header("allow").is_some_and(|a| a.contains("POST")),
        "{:?}",
        response.headers
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/api/auth/login")
        .body("application/json", "{\"email\": \"a@b.co\",")
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(response.json["error"], "Malformed JSON");

    let empty = app
        .post("/api/auth/login")
        .body("application/json", "")
        .send()
        .await;
    empty.assert_error(400, "VALIDATION_FAILED");

    let trailing = app
        .post("/api/auth/login")
        .body(
            "application/json",
            "{\"email\":\"a@b.co\",\"password\":\"x\"} {}",
        )
        .send()
        .await;
    trailing.assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let form = app
        .post("/api/auth/login")
        .body(
            "application/x-www-form-urlencoded",
            "email=a%40b.co&password=x",
        )
        .send()
        .await;
    form.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let missing = app.post("/api/auth/login").send().await;
    missing.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let charset = app
        .post("/api/auth/login")
        .body(
            "application/json; charset=utf-8",
            "{\"email\":\"a@b.co\",\"password\":\"not it\"}",
        )
        .send()
        .await;
    charset.assert_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::builder()
        .env("MAX_BODY_BYTES", "2048")
        .spawn()
        .await;
    let padding = "x".repeat(4096);
    let response = app
        .post("/api/auth/login")
        .json(&json!({ "email": "a@b.co", "password": padding }))
        .send()
        .await;
    response.assert_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn type_errors_name_the_field_path() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/api/auth/register")
        .json(&json!({ "email": "a@b.co", "password": "correct horse battery", "device": { "name": 5 } }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(
        response.detail_paths(),
        ["device.name"],
        "{}",
        response.text
    );

    let top = app
        .post("/api/auth/login")
        .json(&json!({ "email": ["a@b.co"], "password": "x" }))
        .send()
        .await;
    top.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(top.detail_paths(), ["email"], "{}", top.text);
}

#[tokio::test]
async fn validation_errors_list_every_failing_field() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/api/auth/register")
        .json(&json!({ "email": "not-an-email", "password": "short", "name": "" }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    let mut paths = response.detail_paths();
    paths.sort();
    assert_eq!(paths, ["email", "name", "password"], "{}", response.text);
    for detail in response.json["details"].as_array().into_iter().flatten() {
        assert!(detail["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/api/auth/login")
        .json(&json!({ "email": "a@b.co", "password": "x", "role": "admin" }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert!(response.text.contains("role"), "{}", response.text);
}

#[tokio::test]
async fn a_panicking_handler_is_a_logged_500_without_internals() {
    let route = axum::Router::new().route(
        "/test/panic",
        get(|| async {
            if true {
                panic!("boom: secret internals at db.rs:42");
            }
            "unreachable"
        }),
    );
    let app = TestApp::builder().route(route).spawn().await;
    let response = app.get("/test/panic").send().await;
    response.assert_error(500, "INTERNAL");
    assert!(!response.text.contains("boom"), "{}", response.text);
    assert!(!response.text.contains("db.rs"), "{}", response.text);
    let request_id = response
        .header("x-request-id")
        .expect("request id")
        .to_owned();
    // The server keeps serving after the panic.
    app.get("/health/live").send().await.assert_status(200);
    let logs = captured_logs();
    let logged = logs
        .lines()
        .any(|line| line.contains(&request_id) && line.contains("boom: secret internals"));
    assert!(logged, "the panic is logged with the request id");
}

#[tokio::test]
async fn a_malformed_uuid_in_the_path_is_400() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let response = app
        .get("/api/data/not-a-uuid")
        .bearer(&user.access)
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(response.detail_paths(), ["id"], "{}", response.text);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_504() {
    let route = axum::Router::new().route(
        "/test/slow",
        get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }),
    );
    let app = TestApp::builder()
        .env("REQUEST_TIMEOUT_SECS", "1")
        .route(route)
        .spawn()
        .await;
    let response = app.get("/test/slow").send().await;
    response.assert_error(504, "TIMEOUT");
}
