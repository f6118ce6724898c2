//! The audit trail: every security event is logged with the account it concerns, and never
//! with an email address, a password or a token.

use serde_json::json;

use crate::auth_support::{age_used_refresh_tokens, login_user, refresh};
use crate::helpers::{PASSWORD, TestApp, captured_logs, token_in};

fn audit_lines_of(id: &str) -> Vec<String> {
    captured_logs()
        .lines()
        .filter(|l| l.contains("\"target\":\"audit\"") && l.contains(id))
        .map(str::to_owned)
        .collect()
}

fn assert_audited(lines: &[String], event: &str) {
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("\"event\":\"{event}\""))),
        "no {event} audit event in {lines:#?}"
    );
}

#[tokio::test]
async fn security_events_of_an_account_are_audited_without_secrets() {
    let app = TestApp::builder()
        .env("LOCKOUT_THRESHOLD", "2")
        .env("LOCKOUT_BASE_SECS", "1")
        .spawn()
        .await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    for _ in 0..2 {
        app.login(&user.email, "a wrong password")
            .await
            .assert_status(401);
    }
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(429, "ACCOUNT_LOCKED");

    refresh(&app, &second.refresh).await.assert_status(200);
    age_used_refresh_tokens(&app, 60).await;
    refresh(&app, &second.refresh)
        .await
        .assert_error(401, "TOKEN_REUSED");

    let new_password = "the second passphrase";
    app.post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": new_password }))
        .send()
        .await
        .assert_status(204);
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let reset = token_in(&app.wait_for_email(&user.email, "Reset").await);
    let final_password = "the third passphrase";
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": reset, "password": final_password }))
        .send()
        .await
        .assert_status(204);
    let last = app.login(&user.email, final_password).await;
    last.assert_status(200);
    let access = last.json["accessToken"].as_str().unwrap().to_owned();

    let admin = app.admin().await;
    app.get(&format!("/api/users/{}", user.id))
        .bearer(&admin.access)
        .send()
        .await
        .assert_status(200);
    app.get("/api/users")
        .bearer(&admin.access)
        .send()
        .await
        .assert_status(200);

    app.delete("/api/users/me")
        .bearer(&access)
        .json(&json!({ "password": final_password }))
        .send()
        .await
        .assert_status(204);

    let lines = audit_lines_of(&user.id.to_string());
    for event in [
        "user.registered",
        "login.success",
        "login.failure",
        "login.lockout",
        "refresh_token.reuse",
        "password.changed",
        "password_reset.completed",
        "admin.get_user",
        "user.deleted",
    ] {
        assert_audited(&lines, event);
    }
    let admin_lines = audit_lines_of(&admin.id.to_string());
    assert_audited(&admin_lines, "admin.list_users");
    assert_audited(&admin_lines, "admin.created");

    // Redacted: no address, password or token, in the audit trail or anywhere in the log.
    let logs = captured_logs();
    for line in &lines {
        assert!(!line.contains(&user.email), "{line}");
    }
    for secret in [
        PASSWORD,
        new_password,
        final_password,
        &user.refresh,
        &second.refresh,
        &user.access,
        &reset,
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
}
