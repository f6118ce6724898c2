//! `GET /dev/mail`: in development, the log transport's last messages with their links, so a
//! developer can finish a flow without a mail server; everywhere else the route does not exist.

use std::time::Duration;

use serde_json::{Value, json};

use crate::auth_support::me;
use crate::helpers::{TestApp, TestUser, token_in_text};

/// Development, with the default (log) transport.
async fn development_app() -> TestApp {
    TestApp::builder()
        .configured_mailer()
        .env("APP_ENV", "development")
        .env("APP_URL", "http://localhost:5173")
        .spawn()
        .await
}

/// Polls `/dev/mail` until its newest message is to `user` with a subject containing `subject`.
async fn newest_mail(app: &TestApp, user: &TestUser, subject: &str) -> Value {
    for _ in 0..200 {
        let listed = app.get("/dev/mail").send().await;
        listed.assert_status(200);
        let newest = &listed.json["items"][0];
        if newest["to"] == user.email.as_str()
            && newest["subject"]
                .as_str()
                .is_some_and(|s| s.contains(subject))
        {
            assert_eq!(listed.header("cache-control"), Some("no-store"));
            return newest.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {subject:?} email to {} in /dev/mail", user.email);
}

#[tokio::test]
async fn dev_mail_lists_the_last_messages_with_their_links_in_development() {
    let app = development_app().await;
    let user = app.register().await;

    let verification = newest_mail(&app, &user, "Confirm").await;
    assert_eq!(verification["from"], "aios-server <no-reply@localhost>");
    let link = verification["links"][0].as_str().unwrap_or_default();
    assert!(
        link.starts_with("http://localhost:5173/verify-email?token="),
        "{verification}"
    );
    assert!(
        verification["text"]
            .as_str()
            .unwrap_or_default()
            .contains(link)
    );
    assert!(
        verification["html"]
            .as_str()
            .unwrap_or_default()
            .contains(link)
    );
    let sent_at = verification["sentAt"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(sent_at).is_ok(),
        "{sent_at}"
    );

    // The developer's way through: the link's token verifies the account.
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token_in_text(link) }))
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], true);

    // Newest first.
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let reset = newest_mail(&app, &user, "Reset").await;
    let link = reset["links"][0].as_str().unwrap_or_default();
    assert!(
        link.starts_with("http://localhost:5173/reset-password?token="),
        "{reset}"
    );
    let listed = app.get("/dev/mail").send().await.json;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // Described in the development server's own API document.
    let document = app.get("/api/openapi.json").send().await.json;
    assert!(document["paths"]["/dev/mail"]["get"].is_object());
}

#[tokio::test]
async fn dev_mail_does_not_exist_outside_development() {
    let test = TestApp::builder().configured_mailer().spawn().await;
    test.get("/dev/mail")
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let document = test.get("/api/openapi.json").send().await.json;
    assert!(document["paths"]["/dev/mail"].is_null());

    let production = TestApp::builder()
        .configured_mailer()
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy")
        .env("METRICS_TOKEN", "scrape-token")
        .env("MAIL_TRANSPORT", "log")
        .spawn()
        .await;
    production.register().await;
    // The message goes through the log transport, and still nothing lists it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    production
        .get("/dev/mail")
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
}
