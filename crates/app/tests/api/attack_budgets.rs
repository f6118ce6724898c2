//! Issue 7, items 3 to 5: rate-limit budgets an attacker could spend for someone else, and
//! bursts that fixed windows let through twice.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::auth_support::login_user;
use crate::helpers::{PASSWORD, TestApp};
use crate::rate_limits::limit_headers;

#[tokio::test]
async fn strangers_failing_logins_never_block_the_owner_s_own_password_actions() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "5")
        .env("TRUST_PROXY", "1")
        .spawn()
        .await;
    let victim = app.register().await;
    // 21 bad logins from 21 addresses exhaust the per-account budget of anonymous attempts.
    let mut last = None;
    for n in 0..21 {
        let response = app
            .post("/api/auth/login")
            .header("x-forwarded-for", &format!("203.0.113.{n}"))
            .json(&json!({ "email": victim.email, "password": "not it" }))
            .send()
            .await;
        assert!(
            [401, 429].contains(&response.status.as_u16()),
            "{}",
            response.text
        );
        last = Some(response);
    }
    let last = last.expect("at least one attempt");
    last.assert_status(429);
    if last.code() == "RATE_LIMITED" {
        let (limit, remaining, _) = limit_headers(&last);
        assert_eq!(
            (limit, remaining),
            (5, 0),
            "the per-account budget's own headers"
        );
    }

    // The owner, behind their own token, still changes the password and deletes the account.
    app.post("/api/auth/change-password")
        .bearer(&victim.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": "a fresh long passphrase" }))
        .send()
        .await
        .assert_status(204);
    app.delete("/api/users/me")
        .bearer(&victim.access)
        .json(&json!({ "password": "a fresh long passphrase" }))
        .send()
        .await
        .assert_status(204);
}

#[tokio::test]
async fn a_429_from_an_account_budget_reports_that_budget_not_the_ip_tier() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "2")
        .env("RATE_LIMIT_USER_PER_MIN", "600")
        .spawn()
        .await;
    let user = app.register().await;
    for _ in 0..2 {
        app.post("/api/auth/change-password")
            .bearer(&user.access)
            .json(&json!({ "currentPassword": "guess", "newPassword": "another long passphrase" }))
            .send()
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": "guess", "newPassword": "another long passphrase" }))
        .send()
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    let (limit, remaining, reset) = limit_headers(&limited);
    assert_eq!((limit, remaining), (2, 0), "not the user tier's 600 / 599");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        retry_after >= 1 && retry_after <= reset,
        "{retry_after} vs {reset}"
    );
}

#[tokio::test]
async fn a_revoked_token_is_counted_against_its_address_not_its_owner() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_USER_PER_MIN", "5")
        .env("RATE_LIMIT_ANON_PER_MIN", "50")
        .spawn()
        .await;
    let owner = app.register().await;
    let stolen = login_user(&app, &owner).await;
    app.post("/api/auth/logout")
        .bearer(&stolen.access)
        .send()
        .await
        .assert_status(204);
    for _ in 0..20 {
        let dead = app.get("/api/users/me").bearer(&stolen.access).send().await;
        dead.assert_error(401, "UNAUTHORIZED");
        assert_eq!(limit_headers(&dead).0, 50, "counted in the anonymous tier");
    }
    // The owner's live session has all of its own budget left (but for the logout, which was
    // the stolen session's last live request).
    for _ in 0..4 {
        let live = app.get("/api/users/me").bearer(&owner.access).send().await;
        live.assert_status(200);
        assert_eq!(limit_headers(&live).0, 5);
    }
    app.get("/api/users/me")
        .bearer(&owner.access)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
}

/// Fixed windows let `limit` requests through at the end of one window and `limit` more at
/// the start of the next. A continuously refilling budget admits the burst once, then one
/// request per interval (here 60 s / 20 = 3 s), wherever the clock is.
#[tokio::test]
async fn a_spent_burst_refills_one_request_per_interval_not_per_window() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "20")
        .spawn()
        .await;
    // Other addresses each time: this is the per-IP tier, not an account's budget or lockout.
    let login = || app.login_as_stranger();
    let started = Instant::now();
    let mut evaluated = 0;
    for _ in 0..40 {
        if login().await.status.as_u16() == 401 {
            evaluated += 1;
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "the burst took {elapsed:?}"
    );
    assert_eq!(evaluated, 20, "40 attempts within {elapsed:?}");
    let refused = login().await;
    refused.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        retry_after <= 3,
        "one interval, not the rest of a window: {retry_after}"
    );

    tokio::time::sleep(Duration::from_millis(3_200)).await;
    login().await.assert_error(401, "INVALID_CREDENTIALS");
    login().await.assert_error(429, "RATE_LIMITED");
}
