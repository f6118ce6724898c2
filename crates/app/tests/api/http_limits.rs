//! Limits on the request head: within the server's own limits every refusal is a contract
//! error; beyond the HTTP library's hard limits it still answers 4xx and closes.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::helpers::raw::{connect, read_until_closed};
use crate::helpers::{TestApp, TestResponse};

#[track_caller]
fn assert_contract_error_with_security_headers(response: &TestResponse, status: u16, code: &str) {
    response.assert_error(status, code);
    assert_eq!(
        response.json["requestId"].as_str(),
        response.header("x-request-id")
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert!(response.header("content-security-policy").is_some());
}

#[tokio::test]
async fn a_uri_over_8_kib_is_414_in_the_contract_format() {
    let app = TestApp::spawn().await;
    let long = format!("/api/data?q={}", "a".repeat(8 * 1024));
    let response = app.get(&long).send().await;
    assert_contract_error_with_security_headers(&response, 414, "URI_TOO_LONG");

    let fits = format!("/health/live?pad={}", "a".repeat(7 * 1024));
    app.get(&fits).send().await.assert_status(200);
}

#[tokio::test]
async fn more_than_100_headers_is_431_in_the_contract_format() {
    let app = TestApp::spawn().await;
    let mut request = app.get("/health/live");
    for i in 0..110 {
        request = request.header(&format!("x-extra-{i}"), "1");
    }
    let response = request.send().await;
    assert_contract_error_with_security_headers(&response, 431, "HEADERS_TOO_LARGE");

    let mut fits = app.get("/health/live");
    for i in 0..90 {
        fits = fits.header(&format!("x-extra-{i}"), "1");
    }
    fits.send().await.assert_status(200);
}

#[tokio::test]
async fn more_than_16_kib_of_headers_is_431_in_the_contract_format() {
    let app = TestApp::spawn().await;
    let value = "v".repeat(6 * 1024);
    let response = app
        .get("/health/live")
        .header("x-one", &value)
        .header("x-two", &value)
        .header("x-three", &value)
        .send()
        .await;
    assert_contract_error_with_security_headers(&response, 431, "HEADERS_TOO_LARGE");

    let fits = app
        .get("/health/live")
        .header("x-one", &value)
        .header("x-two", &value)
        .send()
        .await;
    fits.assert_status(200);
}

#[tokio::test]
async fn the_error_codes_are_in_the_openapi_enum() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let codes = doc["components"]["schemas"]["ErrorCode"].to_string();
    assert!(codes.contains("URI_TOO_LONG"), "{codes}");
    assert!(codes.contains("HEADERS_TOO_LARGE"), "{codes}");
}

/// Requests the HTTP library refuses before any application code runs: a 4xx, then close.
#[tokio::test]
async fn malformed_or_oversized_heads_get_a_4xx_and_the_connection_is_closed() {
    let app = TestApp::spawn().await;
    // Exactly the 64 KiB read buffer, head still unfinished: the server reads all of it (so
    // closing sends FIN, not a reset that could swallow the answer) and then gives up.
    let start = "GET /health/live HTTP/1.1\r\nHost: test\r\nX-Big: ";
    let huge_header = format!("{start}{}", "v".repeat(64 * 1024 - start.len()));
    let many_headers = format!(
        "GET /health/live HTTP/1.1\r\nHost: test\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-H{i}: 1\r\n"))
            .collect::<String>()
    );
    let cases = [
        ("malformed request line", "GARBAGE\r\n\r\n".to_owned()),
        (
            "space in the target",
            "GET /a b HTTP/1.1\r\nHost: test\r\n\r\n".to_owned(),
        ),
        (
            "header without colon",
            "GET / HTTP/1.1\r\nHost test\r\n\r\n".to_owned(),
        ),
        ("head over 64 KiB", huge_header),
        ("over 128 headers", many_headers),
    ];
    for (what, request) in cases {
        let mut stream = connect(app.addr).await;
        // The server may close before it has read everything; the answer is what counts.
        let _ = stream.write_all(request.as_bytes()).await;
        let outcome = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        let status = outcome.status_line();
        assert!(
            status.starts_with("HTTP/1.1 4"),
            "{what}: expected a 4xx, got {status:?}"
        );
        assert!(outcome.closed, "{what}: the connection is closed");
    }
}
