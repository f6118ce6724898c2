//! The account emails end to end over a real SMTP server (aiosmtpd): the message as it arrives,
//! both MIME parts, and its link followed back into the API.

use chrono::TimeDelta;
use entity::user_token::{self, TokenKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::auth_support::me;
use crate::helpers::smtp_peer::{PeerOptions, SmtpPeer, header, part};
use crate::helpers::{PASSWORD, TestApp, TestUser, token_in, token_in_text};

const APP_URL: &str = "https://app.example.test";

async fn app_mailing_to(peer: &SmtpPeer) -> TestApp {
    TestApp::builder()
        .configured_mailer()
        .env("MAIL_TRANSPORT", "smtp")
        .env("SMTP_URL", &peer.plain_url())
        .env("MAIL_FROM", "Acme Accounts <accounts@acme.example>")
        .env("APP_URL", APP_URL)
        .spawn()
        .await
}

/// The token of the link in both parts, checked to be the same link.
fn token_of(message: &serde_json::Value, page: &str) -> String {
    let (text, html) = (part(message, "text/plain"), part(message, "text/html"));
    let link = format!("{APP_URL}/{page}?token=");
    assert!(text.contains(&link), "{text}");
    assert!(html.contains(&format!("href=\"{link}")), "{html}");
    let token = token_in_text(&text);
    assert_eq!(token_in_text(&html), token, "the same link in both parts");
    token
}

#[tokio::test]
async fn a_registered_user_receives_the_verification_email_over_smtp_and_its_link_verifies() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return;
    };
    let app = app_mailing_to(&peer).await;
    let user = app.register().await;

    let [message] = peer.wait_for(&user.email, 1).await.try_into().unwrap();
    assert_eq!(message["mail_from"], "accounts@acme.example");
    assert_eq!(
        header(&message, "From"),
        "Acme Accounts <accounts@acme.example>"
    );
    assert_eq!(header(&message, "To"), user.email);
    assert_eq!(
        header(&message, "Subject"),
        "Confirm your email address for Acme Accounts"
    );
    assert!(header(&message, "Message-ID").starts_with('<'));
    assert_eq!(message["content_type"], "multipart/alternative");
    let types: Vec<_> = message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    for content_type in ["text/plain", "text/html"] {
        assert!(part(&message, content_type).contains("expires in 24 hours"));
    }
    let token = token_of(&message, "verify-email");

    assert_eq!(me(&app, &user.access).await.json["emailVerified"], false);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], true);
}

#[tokio::test]
async fn a_password_reset_arrives_over_smtp_and_its_link_sets_the_new_password() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return;
    };
    let app = app_mailing_to(&peer).await;
    let user = app.register().await;
    peer.wait_for(&user.email, 1).await; // the verification email

    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let reset = peer.wait_for(&user.email, 2).await.remove(1);
    assert_eq!(
        header(&reset, "Subject"),
        "Reset your Acme Accounts password"
    );
    for content_type in ["text/plain", "text/html"] {
        assert!(part(&reset, content_type).contains("expires in 30 minutes"));
    }
    let token = token_of(&reset, "reset-password");

    let new_password = "a brand new passphrase 42";
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": token, "password": new_password }))
        .send()
        .await
        .assert_status(204);
    app.login(&user.email, new_password)
        .await
        .assert_status(200);
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn the_email_change_notice_reaches_the_previous_address_over_smtp() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return;
    };
    let app = app_mailing_to(&peer).await;
    let user = app.register().await;
    peer.wait_for(&user.email, 1).await;

    let new_email = format!("moved-{}", user.email);
    app.put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "email": new_email, "currentPassword": user.password }))
        .send()
        .await
        .assert_status(200);

    let notice = peer.wait_for(&user.email, 2).await.remove(1);
    assert_eq!(
        header(&notice, "Subject"),
        "Your Acme Accounts email address was changed"
    );
    for content_type in ["text/plain", "text/html"] {
        let body = part(&notice, content_type);
        assert!(body.contains("m***@example.com"), "{body}");
        assert!(
            !body.contains(&new_email),
            "the old mailbox must not learn the new address"
        );
    }
    // The new address gets its own verification email.
    let verification = peer.wait_for(&new_email, 1).await.remove(0);
    token_of(&verification, "verify-email");
}

/// What the database holds for `user`'s `kind` tokens: each one's lifetime.
async fn token_lifetimes(app: &TestApp, user: &TestUser, kind: TokenKind) -> Vec<TimeDelta> {
    user_token::Entity::find()
        .filter(user_token::Column::UserId.eq(user.id))
        .filter(user_token::Column::Kind.eq(kind))
        .all(&*app.state.db)
        .await
        .expect("reading the user's tokens")
        .into_iter()
        .map(|t| t.expires_at - t.created_at)
        .collect()
}

#[tokio::test]
async fn token_lifetimes_come_from_the_configuration_both_in_the_token_and_in_the_text() {
    let app = TestApp::builder()
        .env("EMAIL_VERIFICATION_TOKEN_TTL", "2h")
        .env("PASSWORD_RESET_TOKEN_TTL", "45m")
        .spawn()
        .await;
    let user = app.register().await;
    let verification = app.wait_for_email(&user.email, "Confirm").await;
    assert!(verification.text.contains("expires in 2 hours"));
    assert!(verification.html.contains("expires in 2 hours"));
    assert_eq!(
        token_lifetimes(&app, &user, TokenKind::EmailVerification).await,
        [TimeDelta::hours(2)]
    );

    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let reset = app.wait_for_email(&user.email, "Reset").await;
    assert!(reset.text.contains("expires in 45 minutes"));
    assert!(reset.html.contains("expires in 45 minutes"));
    assert!(!token_in(&reset).is_empty());
    assert_eq!(
        token_lifetimes(&app, &user, TokenKind::PasswordReset).await,
        [TimeDelta::minutes(45)]
    );
}
