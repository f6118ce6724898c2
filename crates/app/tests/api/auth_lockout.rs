//! Account lockout: after repeated failed logins further attempts get `429 ACCOUNT_LOCKED` with
//! `Retry-After`, the lock growing exponentially up to a cap; a success or a reset lifts it.

use serde_json::json;

use crate::auth_support::{me, unique_email};
use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn lockout_after_repeated_failures_and_recovery() {
    let app = TestApp::builder()
        .env("LOCKOUT_BASE_SECS", "1")
        .spawn()
        .await;
    let user = app.register().await;
    for attempt in 1..=5 {
        let response = app.login(&user.email, "a wrong password").await;
        response.assert_error(401, "INVALID_CREDENTIALS");
        assert!(
            response.header("retry-after").is_none(),
            "attempt {attempt}"
        );
    }
    // Locked: even the right password is refused, with Retry-After.
    let locked = app.login(&user.email, PASSWORD).await;
    locked.assert_error(429, "ACCOUNT_LOCKED");
    assert_eq!(locked.header("retry-after"), Some("1"));
    // The lock is per account: others log in, and the email's case does not matter.
    let other = app.register().await;
    app.login(&other.email, PASSWORD).await.assert_status(200);
    app.login(&user.email.to_uppercase(), PASSWORD)
        .await
        .assert_error(429, "ACCOUNT_LOCKED");
    // Existing sessions are not affected.
    me(&app, &user.access).await.assert_status(200);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // After the lock, one more failure locks again, for twice as long.
    app.login(&user.email, "a wrong password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let relocked = app.login(&user.email, PASSWORD).await;
    relocked.assert_error(429, "ACCOUNT_LOCKED");
    let secs: u64 = relocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs), "{secs}");

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.login(&user.email, PASSWORD).await.assert_status(200);
    // A success resets the count: four failures in a row do not lock.
    for _ in 0..4 {
        app.login(&user.email, "a wrong password")
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    app.login(&user.email, PASSWORD).await.assert_status(200);
}

/// Lets every current lock run out, as if its time had passed.
async fn expire_locks(app: &TestApp) {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let past = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    entity::login_throttle::Entity::update_many()
        .col_expr(
            entity::login_throttle::Column::LockedUntil,
            Expr::value(past),
        )
        .filter(entity::login_throttle::Column::LockedUntil.is_not_null())
        .exec(&*app.state.db)
        .await
        .unwrap();
}

async fn retry_after_secs(app: &TestApp, email: &str) -> u64 {
    let locked = app.login(email, PASSWORD).await;
    locked.assert_error(429, "ACCOUNT_LOCKED");
    locked.header("retry-after").unwrap().parse().unwrap()
}

#[tokio::test]
async fn lockout_grows_exponentially_up_to_the_cap_for_unknown_emails_too() {
    let app = TestApp::builder()
        .env("LOCKOUT_THRESHOLD", "2")
        .env("LOCKOUT_BASE_SECS", "40")
        .env("LOCKOUT_MAX_SECS", "100")
        .spawn()
        .await;
    // An address without an account locks the same way: the lock reveals nothing.
    let ghost = unique_email("ghost");
    for _ in 0..2 {
        app.login(&ghost, PASSWORD)
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let first = retry_after_secs(&app, &ghost).await;
    assert!((39..=40).contains(&first), "{first}");
    for expected in [80, 100, 100] {
        expire_locks(&app).await;
        app.login(&ghost, PASSWORD)
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
        let secs = retry_after_secs(&app, &ghost).await;
        assert!(
            (expected - 1..=expected).contains(&secs),
            "{secs} != {expected}"
        );
    }
    let audit = crate::helpers::captured_logs();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"target\":\"audit\"") && l.contains("login.lockout"))
    );
}

#[tokio::test]
async fn a_password_reset_lifts_the_lockout() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for _ in 0..5 {
        app.login(&user.email, "a wrong password")
            .await
            .assert_status(401);
    }
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(429, "ACCOUNT_LOCKED");
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let token = crate::helpers::token_in(&app.wait_for_email(&user.email, "Reset").await);
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": token, "password": "a brand new passphrase" }))
        .send()
        .await
        .assert_status(204);
    app.login(&user.email, "a brand new passphrase")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_does_not_get_past_the_lockout() {
    let app = TestApp::builder()
        .env("LOCKOUT_THRESHOLD", "3")
        .spawn()
        .await;
    let user = app.register().await;
    let passwords: Vec<String> = (0..12).map(|i| format!("guess number {i}")).collect();
    let guesses = passwords.iter().map(|p| app.login(&user.email, p));
    let answers = futures::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|r| r.status == 401).count();
    let locked = answers
        .iter()
        .filter(|r| r.code() == "ACCOUNT_LOCKED")
        .count();
    assert_eq!(wrong + locked, 12, "only 401 and 429 answers");
    // At most the threshold, plus the guesses whose hash was already running (the harness allows
    // four concurrent hashes), are evaluated; the rest are refused as locked.
    assert!((3..=6).contains(&wrong), "{wrong} guesses were evaluated");
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(429, "ACCOUNT_LOCKED");
}
