//! The SendGrid transport (reqwest) against a local HTTP server standing in for SendGrid's
//! `POST /v3/mail/send`: the request it makes, and how each answer is sorted.

use std::time::{Duration, Instant, SystemTime};

use aios_app::platform::mail::sendgrid::{SendGridConfig, SendGridMailer};
use aios_app::platform::mail::{MailError, Mailbox, Mailer, Message};
use serde_json::json;

use crate::helpers::fake_sendgrid::{FakeSendGrid, Reply};
use crate::helpers::smtp_peer::closed_port;

const KEY: &str = "SG.test-key";

fn message() -> Message {
    Message::new(
        Mailbox::new(Some("Acme Accounts"), "no-reply@acme.example").unwrap(),
        Mailbox::new(Some("Zoë Test"), "zoe@example.com").unwrap(),
        "Confirm your address — Zoë",
        "Hello Zoë,\nopen https://app.acme.example/verify-email?token=abc\n",
        "<p><a href=\"https://app.acme.example/verify-email?token=abc\">Confirm</a></p>",
    )
    .unwrap()
}

fn mailer(base_url: &str, key: &str) -> SendGridMailer {
    SendGridMailer::new(&SendGridConfig {
        api_key: key.to_owned().into(),
        base_url: base_url.to_owned(),
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
    })
    .unwrap()
}

#[tokio::test]
async fn an_accepted_202_had_the_bearer_key_and_the_documented_body() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    mailer(&sendgrid.base_url, KEY)
        .send(&message())
        .await
        .unwrap();

    let [request] = sendgrid.requests().try_into().unwrap();
    assert_eq!(request.authorization.as_deref(), Some("Bearer SG.test-key"));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let m = message();
    assert_eq!(
        request.body,
        json!({
            "personalizations": [{"to": [{"email": "zoe@example.com", "name": "Zoë Test"}]}],
            "from": {"email": "no-reply@acme.example", "name": "Acme Accounts"},
            "subject": "Confirm your address — Zoë",
            "content": [
                {"type": "text/plain", "value": m.text()},
                {"type": "text/html", "value": m.html()}
            ],
            "tracking_settings": {"click_tracking": {"enable": false, "enable_text": false}}
        })
    );
}

#[tokio::test]
async fn a_400_is_permanent_with_sendgrids_message() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(400).body(r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}"#));
    let e = mailer(&sendgrid.base_url, KEY)
        .send(&message())
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e}");
    assert_eq!(e.code(), Some(400));
    assert!(
        e.to_string()
            .contains("personalizations.0.to.0.email: Does not contain a valid address."),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_key_401_is_transient_and_never_echoed() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    let e = mailer(&sendgrid.base_url, "SG.wrong")
        .send(&message())
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.code(), Some(401));
    assert!(e.to_string().contains("SENDGRID_API_KEY"), "{e}");
    assert!(!e.to_string().contains("SG.wrong"), "{e}");
}

#[tokio::test]
async fn a_429_is_transient_with_its_retry_after_in_seconds_or_as_a_date() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(429).header("retry-after", "17"));
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    sendgrid.reply(Reply::status(429).header("retry-after", when));
    let mailer = mailer(&sendgrid.base_url, KEY);

    let e = mailer.send(&message()).await.unwrap_err();
    assert!(
        matches!(e, MailError::Transient { code: Some(429), retry_after: Some(d), .. }
            if d == Duration::from_secs(17)),
        "{e:?}"
    );
    let e = mailer.send(&message()).await.unwrap_err();
    let d = e.retry_after().unwrap();
    assert!(
        e.is_transient() && d > Duration::from_secs(110) && d <= Duration::from_secs(120),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_uses_the_rate_limit_reset() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    sendgrid.reply(Reply::status(429).header("x-ratelimit-reset", reset.to_string()));
    let e = mailer(&sendgrid.base_url, KEY)
        .send(&message())
        .await
        .unwrap_err();
    let d = e.retry_after().unwrap();
    assert!(
        e.is_transient() && d > Duration::from_secs(55) && d <= Duration::from_secs(60),
        "{e:?}"
    );
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(500).body("oops"));
    sendgrid.reply(Reply::status(503).header("retry-after", "5"));
    let mailer = mailer(&sendgrid.base_url, KEY);
    let e = mailer.send(&message()).await.unwrap_err();
    assert!(
        matches!(
            e,
            MailError::Transient {
                code: Some(500),
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
    let e = mailer.send(&message()).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_slow_server_meets_the_request_timeout_as_transient() {
    let sendgrid = FakeSendGrid::start(KEY).await;
    sendgrid.reply(Reply::status(202).delay(Duration::from_secs(3)));
    let started = Instant::now();
    let e = mailer(&sendgrid.base_url, KEY)
        .send(&message())
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout was not applied"
    );
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let e = mailer(&base, KEY).send(&message()).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.code(), None);
}
