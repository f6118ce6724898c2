//! Password reset, password change and email verification.

use serde_json::json;

use crate::auth_support::{
    expire_user_tokens, login_user, me, refresh, unique_email, user_row, wait_for_outbox,
};
use crate::helpers::{PASSWORD, TestApp, TestUser, token_in};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn request_reset(app: &TestApp, email: &str) -> String {
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": email }))
        .send()
        .await
        .assert_status(202);
    let emails = app
        .wait_for_emails(&email.trim().to_lowercase(), "Reset", 1)
        .await;
    token_in(emails.last().unwrap())
}

async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> crate::helpers::TestResponse {
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
}

#[tokio::test]
async fn password_reset_sets_a_new_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    let token = request_reset(&app, &format!(" {} ", user.email.to_uppercase())).await;
    let link = app.wait_for_email(&user.email, "Reset").await;
    assert!(
        link.text.contains("/reset-password?token="),
        "{}",
        link.text
    );
    assert!(link.text.contains("30 minutes"));

    confirm_reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_status(204);
    for session in [&user, &second] {
        me(&app, &session.access)
            .await
            .assert_error(401, "UNAUTHORIZED");
        refresh(&app, &session.refresh)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    app.login(&user.email, NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn password_reset_for_an_unknown_email_is_accepted_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let ghost = unique_email("ghost");
    let response = app
        .post("/api/auth/reset-password")
        .json(&json!({ "email": ghost }))
        .send()
        .await;
    response.assert_status(202);
    assert!(response.text.is_empty() || response.json.is_object());
    let user = app.register().await;
    let known = app
        .post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await;
    known.assert_status(202);
    assert_eq!(known.text, response.text, "the same answer either way");
    app.wait_for_email(&user.email, "Reset").await;
    wait_for_outbox(&app).await;
    assert!(
        app.mailer.sent().iter().all(|e| e.to != ghost),
        "{:?}",
        app.mailer.sent()
    );
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": "not-an-email" }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_reset_token_works_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let token = request_reset(&app, &user.email).await;
    confirm_reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_status(204);
    let reused = confirm_reset(&app, &token, "yet another passphrase").await;
    reused.assert_error(400, "INVALID_TOKEN");
    app.login(&user.email, NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let token = request_reset(&app, &user.email).await;
    expire_user_tokens(&app, user.id, "password_reset").await;
    confirm_reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_error(400, "INVALID_TOKEN");
    app.login(&user.email, PASSWORD).await.assert_status(200);
}

#[tokio::test]
async fn a_used_reset_token_kills_the_other_outstanding_links() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let first = request_reset(&app, &user.email).await;
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let second = token_in(&app.wait_for_emails(&user.email, "Reset", 2).await[1]);
    assert_ne!(first, second);
    confirm_reset(&app, &second, NEW_PASSWORD)
        .await
        .assert_status(204);
    confirm_reset(&app, &first, "an attackers passphrase")
        .await
        .assert_error(400, "INVALID_TOKEN");
}

#[tokio::test]
async fn reset_confirm_refuses_unknown_tokens_and_weak_passwords() {
    let app = TestApp::spawn().await;
    confirm_reset(&app, "no-such-token", NEW_PASSWORD)
        .await
        .assert_error(400, "INVALID_TOKEN");
    let user = app.register().await;
    let token = request_reset(&app, &user.email).await;
    for (password, needle) in [("short", "8"), ("iloveyou", "too common")] {
        let response = confirm_reset(&app, &token, password).await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["password"]);
        let message = response.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{password}: {message}");
    }
    let same_as_email = confirm_reset(&app, &token, &user.email).await;
    same_as_email.assert_error(400, "VALIDATION_FAILED");
    assert!(
        same_as_email.text.contains("email"),
        "{}",
        same_as_email.text
    );
    // A refused password does not spend the token.
    confirm_reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_status(204);
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn change_password_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let other = login_user(&app, &user).await;
    app.post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
        .send()
        .await
        .assert_status(204);
    me(&app, &user.access).await.assert_status(200);
    refresh(&app, &user.refresh).await.assert_status(200);
    me(&app, &other.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &other.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    app.login(&user.email, NEW_PASSWORD)
        .await
        .assert_status(200);
    let hash = user_row(&app, user.id).await.unwrap().password_hash;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_the_policy() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let change = |current: &str, new: &str| {
        app.post("/api/auth/change-password")
            .bearer(&user.access)
            .json(&json!({ "currentPassword": current, "newPassword": new }))
            .send()
    };
    change("wrong current password", NEW_PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let common = change(PASSWORD, "1234567890").await;
    common.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(common.detail_paths(), ["newPassword"]);
    assert!(common.text.contains("too common"), "{}", common.text);
    let own_email = change(PASSWORD, &user.email).await;
    own_email.assert_error(400, "VALIDATION_FAILED");
    assert!(
        own_email.text.contains("must not be your email"),
        "{}",
        own_email.text
    );
    let short = change(PASSWORD, "short").await;
    short.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(
        short.detail_paths(),
        ["newPassword"],
        "camelCase, as on the wire"
    );
    let missing = app
        .post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "newPassword": NEW_PASSWORD }))
        .send()
        .await;
    missing.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(missing.detail_paths(), ["currentPassword"]);
    // Nothing changed, and the session is still live.
    me(&app, &user.access).await.assert_status(200);
    app.login(&user.email, PASSWORD).await.assert_status(200);
    app.post("/api/auth/change-password")
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "role": "admin" }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

async fn verification_token(app: &TestApp, user: &TestUser, count: usize) -> String {
    let emails = app.wait_for_emails(&user.email, "Confirm", count).await;
    token_in(&emails[count - 1])
}

#[tokio::test]
async fn verify_email_marks_the_address_verified_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let token = verification_token(&app, &user, 1).await;
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], false);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], true);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_error(400, "INVALID_TOKEN");
}

#[tokio::test]
async fn verify_email_refuses_unknown_expired_and_reset_tokens() {
    let app = TestApp::spawn().await;
    let verify = |token: String| {
        app.post("/api/auth/verify-email")
            .json(&json!({ "token": token }))
            .send()
    };
    verify("unknown".into())
        .await
        .assert_error(400, "INVALID_TOKEN");
    app.post("/api/auth/verify-email")
        .json(&json!({}))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let user = app.register().await;
    let token = verification_token(&app, &user, 1).await;
    // A password-reset token is not a verification token.
    let reset = request_reset(&app, &user.email).await;
    verify(reset).await.assert_error(400, "INVALID_TOKEN");
    expire_user_tokens(&app, user.id, "email_verification").await;
    verify(token).await.assert_error(400, "INVALID_TOKEN");
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], false);
}

#[tokio::test]
async fn resend_verification_sends_a_new_link_until_verified() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    verification_token(&app, &user, 1).await;
    app.post("/api/auth/verify-email/resend")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(202);
    let token = verification_token(&app, &user, 2).await;
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_status(204);
    app.post("/api/auth/verify-email/resend")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(202);
    wait_for_outbox(&app).await;
    let sent = app.mailer.sent();
    let confirmations = sent
        .iter()
        .filter(|e| e.to == user.email && e.subject.contains("Confirm"));
    assert_eq!(confirmations.count(), 2, "nothing is sent once verified");
    app.post("/api/auth/verify-email/resend")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn changing_the_password_kills_outstanding_reset_links() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let token = request_reset(&app, &user.email).await;
    app.post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
        .send()
        .await
        .assert_status(204);
    confirm_reset(&app, &token, "an attackers passphrase")
        .await
        .assert_error(400, "INVALID_TOKEN");
    app.login(&user.email, NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn emailed_tokens_are_stored_hashed_and_expire_as_documented() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let verification = verification_token(&app, &user, 1).await;
    let reset = request_reset(&app, &user.email).await;
    for (kind, token, lifetime) in [
        (
            "email_verification",
            &verification,
            chrono::TimeDelta::hours(24),
        ),
        ("password_reset", &reset, chrono::TimeDelta::minutes(30)),
    ] {
        let rows = entity::user_token::Entity::find()
            .filter(entity::user_token::Column::UserId.eq(user.id))
            .filter(entity::user_token::Column::Kind.eq(kind))
            .all(&*app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{kind}");
        assert_eq!(rows[0].expires_at - rows[0].created_at, lifetime, "{kind}");
        assert_ne!(&rows[0].token_hash, token, "{kind} is stored hashed");
        assert_eq!(rows[0].token_hash.len(), 64);
        assert!(token.len() >= 43, "256 random bits");
    }
}
