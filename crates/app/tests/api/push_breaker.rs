//! The push providers inside the running application: each behind its circuit breaker, which
//! `/health` and `/metrics` report, and a provider that is not configured is skipped.

use std::sync::atomic::Ordering;
use std::time::Duration;

use aios_app::platform::jobs::error::JobError;
use aios_app::platform::push::{DeviceToken, PushError, PushMessage, PushOutcome, PushService};
use axum::http::StatusCode;

use crate::helpers::{TestApp, captured_logs};
use crate::push_webpush::WebPushPeer;

#[tokio::test]
async fn consecutive_failures_open_the_circuit_and_later_sends_are_deferred_without_a_call() {
    let peer = WebPushPeer::start().await;
    peer.answer(StatusCode::SERVICE_UNAVAILABLE, None);
    let mut builder = TestApp::builder();
    for (var, value) in &peer.vars {
        builder = builder.env(var, value);
    }
    let app = builder.spawn().await;
    let health = app.get("/health").send().await;
    assert_eq!(health.json["providers"]["push_webpush"], "closed");

    let message = PushMessage::new("t", "b");
    for _ in 0..5 {
        let err = app
            .state
            .push
            .send(&peer.token(), &message)
            .await
            .unwrap_err();
        assert!(matches!(err, PushError::Retry { .. }), "{err:?}");
    }
    assert_eq!(peer.service.requests.load(Ordering::SeqCst), 5);
    let err = app
        .state
        .push
        .send(&peer.token(), &message)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PushError::CircuitOpen { service: PushService::WebPush, retry_in }
            if retry_in <= Duration::from_secs(30)),
        "{err:?}"
    );
    assert!(matches!(
        app.state.push.deliver(&peer.token(), &message).await,
        Err(JobError::Defer { after, .. }) if after <= Duration::from_secs(30)
    ));
    assert_eq!(
        peer.service.requests.load(Ordering::SeqCst),
        5,
        "an open circuit sends nothing"
    );

    let health = app.get("/health").send().await;
    assert_eq!(health.json["status"], "degraded");
    assert_eq!(health.json["providers"]["push_webpush"], "open");
    let metrics = app.get("/metrics").send().await.text;
    let has = |name: &str, labels: &[&str]| {
        metrics
            .lines()
            .any(|line| line.starts_with(name) && labels.iter().all(|l| line.contains(l)))
    };
    assert!(has(
        "push_failed_total",
        &["provider=\"webpush\"", "kind=\"retry\""]
    ));
    assert!(has(
        "push_failed_total",
        &["provider=\"webpush\"", "kind=\"circuit_open\""]
    ));
    assert!(has(
        "push_delivery_duration_seconds_bucket",
        &["provider=\"webpush\""]
    ));
    let logs = captured_logs();
    for (var, value) in &peer.vars {
        if *var == "VAPID_PRIVATE_KEY" {
            assert!(
                !logs.contains(value.as_str()),
                "the VAPID private key was logged"
            );
        }
    }
}

#[tokio::test]
async fn a_provider_that_is_not_configured_is_skipped_with_one_warning() {
    let app = TestApp::spawn().await;
    assert!(app.state.push.configured().is_empty());
    let warnings = || {
        captured_logs()
            .lines()
            .filter(|line| line.contains("push skipped") && line.contains("\"WARN\""))
            .filter(|line| line.contains("fcm is not configured"))
            .count()
    };
    let before = warnings();
    let token = DeviceToken::parse(PushService::Fcm, "fcm-device:APA91b-x").unwrap();
    for _ in 0..3 {
        let outcome = app
            .state
            .push
            .deliver(&token, &PushMessage::new("t", "b"))
            .await;
        assert_eq!(outcome.unwrap(), PushOutcome::Skipped);
    }
    assert_eq!(warnings(), before + 1);
    let health = app.get("/health").send().await;
    assert!(health.json["providers"].get("push_fcm").is_none());
}
