//! The mail server goes away and comes back: requests never wait for it, the mail provider's
//! circuit breaker opens (and `/health` says so), the messages wait rather than being given up,
//! and once the server is back each one arrives exactly once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::smtp_peer::{self, PeerOptions, SmtpPeer, closed_port, part};
use crate::helpers::{TestApp, token_in_text};
use crate::mail_support::{given_up, jobs_in, wait_for_mail_circuit};

/// How long until the last waiting mail job's next attempt is due.
async fn latest_retry_in(app: &TestApp) -> Duration {
    let now = chrono::Utc::now();
    jobs_in(app, "failed")
        .await
        .iter()
        .filter_map(|job| {
            job["runAt"]
                .as_str()?
                .parse::<chrono::DateTime<chrono::Utc>>()
                .ok()
        })
        .filter_map(|at| (at - now).to_std().ok())
        .max()
        .unwrap_or_default()
}

#[tokio::test]
async fn while_the_mail_server_is_down_registrations_answer_and_every_mail_arrives_once_it_is_back()
{
    if !smtp_peer::available() {
        return;
    }
    // Nothing listens here yet; the SMTP server comes up on this port later.
    let port = closed_port();
    let app = TestApp::builder()
        .configured_mailer()
        .env("MAIL_TRANSPORT", "smtp")
        .env("SMTP_URL", &format!("smtp://127.0.0.1:{port}?tls=none"))
        .env("MAIL_BREAKER_THRESHOLD", "2")
        .env("MAIL_BREAKER_COOLDOWN_SECS", "2")
        .spawn()
        .await;

    let mut users = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        users.push(app.register().await); // asserts 201
        let took = started.elapsed();
        // Mail is sent by a job: a dead mail server never delays the request.
        assert!(took < Duration::from_secs(5), "registration took {took:?}");
    }

    let health = wait_for_mail_circuit(&app, "open", Duration::from_secs(15)).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["database"], "connected", "{health}");

    // Down for a while longer: the jobs keep waiting (deferred while the circuit is open).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(given_up(&app).await.is_empty());
    let peer = SmtpPeer::start(PeerOptions {
        port: Some(port),
        ..PeerOptions::default()
    })
    .await
    .expect("the SMTP server, available above");

    // Each message waits out its own backoff (it failed while the server was down): it must have
    // arrived soon after its next attempt is due, however long the outage lasted.
    let due = latest_retry_in(&app).await;
    for user in &users {
        peer.wait_for_within(
            &user.email,
            1,
            (due + Duration::from_secs(30)).max(Duration::from_secs(60)),
        )
        .await;
    }
    let health = wait_for_mail_circuit(&app, "closed", Duration::from_secs(10)).await;
    assert_eq!(health["status"], "ok", "{health}");

    // Long enough for a duplicate to show up, if a message were sent twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for user in &users {
        let received = peer.messages_to(&user.email);
        assert_eq!(received.len(), 1, "{}: {received:?}", user.email);
        // The token delivered is the one that works: no attempt left a newer one behind.
        let token = token_in_text(&part(&received[0], "text/plain"));
        app.post("/api/auth/verify-email")
            .json(&json!({ "token": token }))
            .send()
            .await
            .assert_status(204);
    }
    assert_eq!(peer.messages().len(), users.len());
}
