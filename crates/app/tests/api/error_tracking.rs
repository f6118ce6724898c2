//! Error tracking against a local endpoint that speaks Sentry's envelope protocol: a panicking
//! handler and a dead job are reported with the request id, the route template and the release,
//! and never with the Authorization header, cookies, the body, the password or the email.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aios_app::platform::db;
use aios_app::platform::jobs::error::JobError;
use aios_app::platform::jobs::event::{Delivery, Event, EventHandler};
use aios_app::platform::jobs::outbox;
use aios_app::platform::jobs::spec::JobSpec;
use aios_app::state::AppState;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::TestApp;

/// Accepts `POST /api/<project>/envelope/` and keeps each body (one JSON header line, then
/// items) as text.
#[derive(Clone, Default)]
struct EnvelopeSink {
    envelopes: Arc<Mutex<Vec<String>>>,
}

impl EnvelopeSink {
    async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Self::default();
        let envelopes = sink.envelopes.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let envelopes = envelopes.clone();
                tokio::spawn(async move {
                    loop {
                        let mut head = Vec::new();
                        while !head.ends_with(b"\r\n\r\n") {
                            let mut byte = [0u8; 1];
                            if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                                return;
                            }
                            head.push(byte[0]);
                        }
                        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0u8; length];
                        if socket.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        if head.starts_with("post /api/1/envelope/") {
                            let text = String::from_utf8_lossy(&body).into_owned();
                            envelopes.lock().unwrap().push(text);
                        }
                        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                     content-length: 2\r\n\r\n{}";
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (sink, format!("http://public-key@127.0.0.1:{port}/1"))
    }

    /// Waits (up to 30 s) for an envelope containing `needle`.
    async fn wait_for(&self, needle: &str) -> String {
        for _ in 0..600 {
            let found = self
                .envelopes
                .lock()
                .unwrap()
                .iter()
                .find(|e| e.contains(needle))
                .cloned();
            if let Some(envelope) = found {
                return envelope;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no envelope with {needle:?}; got {:?}",
            self.envelopes.lock().unwrap()
        );
    }
}

const EMAIL: &str = "private.person@example.com";
const SECRET_PASSWORD: &str = "hunter2-very-secret-passphrase";
const BEARER: &str = "eyJhbGciOiJIUzI1NiJ9.secret-bearer-token.signature";

fn assert_clean(envelope: &str) {
    for secret in [
        EMAIL,
        SECRET_PASSWORD,
        BEARER,
        "session-cookie-value",
        "Authorization",
        "authorization",
        "acct-77aa9",
        "ip_address",
        "\"user\"",
        "\"request\"",
    ] {
        assert!(
            !envelope.contains(secret),
            "the envelope holds {secret:?}: {envelope}"
        );
    }
}

#[tokio::test]
async fn a_panicking_handler_is_reported_with_request_id_route_and_release_and_nothing_private() {
    let (sink, dsn) = EnvelopeSink::start().await;
    let route = axum::Router::new().route(
        "/test/accounts/{id}/explode",
        post(|| async {
            if true {
                panic!("boom in the handler");
            }
            "unreachable"
        }),
    );
    let app = TestApp::builder()
        .env("SENTRY_DSN", &dsn)
        .env("SENTRY_ENVIRONMENT", "ci")
        .route(route)
        .spawn()
        .await;
    let response = app
        .post("/test/accounts/acct-77aa9/explode")
        .bearer(BEARER)
        .header("cookie", "sid=session-cookie-value")
        .json(&json!({ "email": EMAIL, "password": SECRET_PASSWORD }))
        .send()
        .await;
    response.assert_error(500, "INTERNAL");
    let request_id = response.header("x-request-id").unwrap().to_owned();

    let envelope = sink.wait_for(&request_id).await;
    assert!(
        envelope.contains("/test/accounts/{id}/explode"),
        "{envelope}"
    );
    assert!(envelope.contains("boom in the handler"), "{envelope}");
    assert!(
        envelope.contains(&format!("aios-server@{}", env!("CARGO_PKG_VERSION"))),
        "{envelope}"
    );
    assert!(envelope.contains("\"ci\""), "{envelope}");
    assert_clean(&envelope);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Doomed {
    label: String,
}

impl Event for Doomed {
    const NAME: &'static str = "test:doomed";
}

struct FailsForGood;

#[async_trait::async_trait]
impl EventHandler<Doomed> for FailsForGood {
    async fn handle(&self, _: &AppState, _: Doomed, _: Delivery) -> Result<(), JobError> {
        Err(JobError::Permanent(format!(
            "mail to {EMAIL} refused by 10.9.8.7:25"
        )))
    }

    fn spec(&self) -> JobSpec {
        JobSpec {
            max_attempts: 1,
            ..JobSpec::default()
        }
    }
}

#[tokio::test]
async fn a_dead_job_is_reported_with_its_type_and_the_addresses_in_its_error_masked() {
    let (sink, dsn) = EnvelopeSink::start().await;
    let app = TestApp::builder()
        .env("SENTRY_DSN", &dsn)
        .jobs(|mut jobs| {
            jobs.handlers = jobs.handlers.on::<Doomed>(FailsForGood);
            jobs
        })
        .spawn()
        .await;
    let txn = db::begin_write(&app.state.db).await.unwrap();
    outbox::enqueue(&txn, &Doomed { label: "x".into() })
        .await
        .unwrap();
    txn.commit().await.unwrap();
    app.state.wake_outbox_relay();

    let envelope = sink.wait_for("test:doomed").await;
    assert!(envelope.contains("dead_job"), "{envelope}");
    assert!(envelope.contains("refused by [ip]"), "{envelope}");
    assert!(envelope.contains("mail to [email]"), "{envelope}");
    assert!(envelope.contains("aios-server@"), "{envelope}");
    assert!(!envelope.contains("10.9.8.7"), "{envelope}");
    assert_clean(&envelope);
}

#[tokio::test]
async fn without_a_dsn_nothing_is_sent() {
    let app = TestApp::spawn().await;
    assert!(!app.state.error_tracker.is_enabled());
}
