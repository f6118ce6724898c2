//! The account emails through SendGrid's v3 API, against a local HTTP server that checks the
//! bearer key and the JSON body as SendGrid does: accepted, refused for good (given up at
//! once), rate limited (retried after `Retry-After`), and a wrong key (the breaker opens).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::fake_sendgrid::{FakeSendGrid, Recorded, Reply};
use crate::helpers::{TestApp, token_in_text};
use crate::mail_support::{given_up, wait_for_mail_circuit};

const KEY: &str = "SG.test-key";

async fn app_on(sendgrid: &FakeSendGrid, key: &str) -> TestApp {
    TestApp::builder()
        .configured_mailer()
        .env("MAIL_TRANSPORT", "sendgrid")
        .env("SENDGRID_API_KEY", key)
        .env("SENDGRID_BASE_URL", &sendgrid.base_url)
        .env("MAIL_FROM", "Acme Accounts <accounts@acme.example>")
        .env("APP_URL", "https://app.example.test")
        .env("MAIL_BREAKER_THRESHOLD", "2")
        .spawn()
        .await
}

/// Waits (up to `limit`) until SendGrid has received `count` requests.
async fn wait_for_requests(
    sendgrid: &FakeSendGrid,
    count: usize,
    limit: Duration,
) -> Vec<Recorded> {
    let started = Instant::now();
    loop {
        let requests = sendgrid.requests();
        if requests.len() >= count {
            return requests;
        }
        assert!(
            started.elapsed() < limit,
            "{count} request(s) did not reach SendGrid; got {requests:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text_part(request: &Recorded) -> &str {
    request.body["content"][0]["value"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn sendgrid_accepts_the_verification_email_with_the_bearer_key_and_both_parts() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    let app = app_on(&sendgrid, KEY).await;
    let user = app.register().await;

    let [request] = wait_for_requests(&sendgrid, 1, Duration::from_secs(10))
        .await
        .try_into()
        .unwrap();
    assert_eq!(request.authorization.as_deref(), Some("Bearer SG.test-key"));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let body = &request.body;
    assert_eq!(
        body["personalizations"],
        json!([{ "to": [{ "email": user.email }] }])
    );
    assert_eq!(
        body["from"],
        json!({ "email": "accounts@acme.example", "name": "Acme Accounts" })
    );
    assert_eq!(
        body["subject"],
        "Confirm your email address for Acme Accounts"
    );
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    let link = "https://app.example.test/verify-email?token=";
    assert!(text_part(&request).contains(link), "{body}");
    let html = body["content"][1]["value"].as_str().unwrap_or_default();
    assert!(html.contains(&format!("href=\"{link}")), "{html}");
    // Click tracking would route the single-use link through SendGrid's redirector.
    assert_eq!(
        body["tracking_settings"]["click_tracking"],
        json!({ "enable": false, "enable_text": false })
    );

    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token_in_text(text_part(&request)) }))
        .send()
        .await
        .assert_status(204);
}

#[tokio::test]
async fn a_400_from_sendgrid_gives_the_message_up_at_once_and_keeps_the_error() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(400).body(
        r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}"#,
    ));
    let app = app_on(&sendgrid, KEY).await;
    app.register().await;
    wait_for_requests(&sendgrid, 1, Duration::from_secs(10)).await;

    // A retry would have come after 2 s; none does.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sendgrid.requests().len(), 1);
    let [(event, error)] = given_up(&app).await.try_into().unwrap();
    assert_eq!(event, "user:registered");
    assert!(error.contains("400"), "{error}");
    assert!(
        error.contains("Does not contain a valid address."),
        "{error}"
    );
    // SendGrid answered: the provider is healthy, the circuit stays closed.
    let health = app.get("/health").send().await.json;
    assert_eq!(health["providers"]["mail"], "closed", "{health}");
    assert_eq!(health["status"], "ok", "{health}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait_it_asks_for() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(429).header("retry-after", "4"));
    // A long lease: a retry that waited for apalis's heartbeat (a third of it, 40 s) instead of
    // its own time would show, however loaded the machine.
    let app = TestApp::builder()
        .configured_mailer()
        .env("MAIL_TRANSPORT", "sendgrid")
        .env("SENDGRID_API_KEY", KEY)
        .env("SENDGRID_BASE_URL", &sendgrid.base_url)
        .env("APP_URL", "https://app.example.test")
        .env("JOBS_LEASE_SECS", "120")
        .spawn()
        .await;
    app.register().await;

    let requests = wait_for_requests(&sendgrid, 2, Duration::from_secs(30)).await;
    let waited = requests[1].at - requests[0].at;
    // The runner's own backoff after a first attempt is 2 s: this is the provider's 4 s.
    assert!(
        waited >= Duration::from_millis(3900),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(20), "retried after {waited:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sendgrid.requests().len(), 2, "accepted the second time");
    assert!(given_up(&app).await.is_empty());
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token_in_text(text_part(&requests[1])) }))
        .send()
        .await
        .assert_status(204);
}

#[tokio::test]
async fn a_refused_key_opens_the_breaker_instead_of_giving_the_mail_up() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    let app = app_on(&sendgrid, "SG.revoked-key").await;
    app.register().await;
    app.register().await;
    wait_for_requests(&sendgrid, 2, Duration::from_secs(10)).await;

    let health = wait_for_mail_circuit(&app, "open", Duration::from_secs(5)).await;
    assert_eq!(health["status"], "degraded", "{health}");
    // While it is open, nothing more goes out, and nothing is given up.
    app.register().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = sendgrid.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer SG.revoked-key"))
    );
    assert!(given_up(&app).await.is_empty());
}
