//! Graceful shutdown: in-flight requests finish, new ones are refused, the server returns.

use std::time::{Duration, Instant};

use axum::routing::get;

use crate::helpers::TestApp;

fn slow_route(delay: Duration) -> axum::Router {
    axum::Router::new().route(
        "/test/slow",
        get(move || async move {
            tokio::time::sleep(delay).await;
            "finished"
        }),
    )
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let mut app = TestApp::builder()
        .route(slow_route(Duration::from_millis(1500)))
        .spawn()
        .await;
    let client = app.client.clone();
    let url = app.url("/test/slow");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    app.stop().await.expect("the server stops cleanly");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the request"
    );

    let response = in_flight
        .await
        .expect("task")
        .expect("the in-flight request got an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap_or_default(), "finished");

    let after = reqwest::Client::new()
        .get(app.url("/health/live"))
        .send()
        .await;
    assert!(after.is_err(), "no longer accepting connections");
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_timeout() {
    let mut app = TestApp::builder()
        .env("SHUTDOWN_TIMEOUT_SECS", "1")
        .env("REQUEST_TIMEOUT_SECS", "60")
        .route(slow_route(Duration::from_secs(30)))
        .spawn()
        .await;
    let client = app.client.clone();
    let url = app.url("/test/slow");
    let _in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    app.stop().await.expect("the server stops");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
