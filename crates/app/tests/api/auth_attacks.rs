//! Attacks on authentication, each against the running app: forged and stale access tokens,
//! admin routes, mass assignment and account lockout.

use jsonwebtoken::Algorithm;
use serde_json::json;
use uuid::Uuid;

use crate::auth_support::{claims_of, me, sign, sign_valid, unique_email, unsigned};
use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp};

#[tokio::test]
async fn a_token_with_alg_none_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let claims = claims_of(&user.access);
    let forged = unsigned(&claims);
    me(&app, &forged).await.assert_error(401, "UNAUTHORIZED");
    // Also with the original signature left in place.
    let signature = user.access.rsplit('.').next().unwrap();
    me(&app, &format!("{forged}{signature}"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    me(&app, &user.access).await.assert_status(200);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_or_algorithm_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let claims = claims_of(&user.access);
    let other_secret = sign(
        &claims,
        Algorithm::HS256,
        b"another-secret-that-is-also-long-enough-0123",
    );
    me(&app, &other_secret)
        .await
        .assert_error(401, "UNAUTHORIZED");
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let forged = sign(&claims, algorithm, TEST_JWT_SECRET.as_bytes());
        me(&app, &forged).await.assert_error(401, "UNAUTHORIZED");
    }
    // A sanity check of the forging itself: the same claims signed properly are accepted.
    me(&app, &sign_valid(&claims)).await.assert_status(200);
}

#[tokio::test]
async fn a_token_for_another_audience_or_issuer_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let mut claims = claims_of(&user.access);
    claims["aud"] = json!("another-app");
    me(&app, &sign_valid(&claims))
        .await
        .assert_error(401, "UNAUTHORIZED");
    let mut claims = claims_of(&user.access);
    claims["iss"] = json!("someone-else");
    me(&app, &sign_valid(&claims))
        .await
        .assert_error(401, "UNAUTHORIZED");
    for field in ["sid", "sub", "exp", "aud", "iss"] {
        let mut claims = claims_of(&user.access);
        claims.as_object_mut().unwrap().remove(field);
        let response = me(&app, &sign_valid(&claims)).await;
        response.assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let mut claims = claims_of(&user.access);
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 3600);
    claims["exp"] = json!(now - 1);
    let response = me(&app, &sign_valid(&claims)).await;
    response.assert_error(401, "UNAUTHORIZED");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn the_token_of_a_logged_out_session_is_refused_even_before_it_expires() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let claims = claims_of(&user.access);
    app.post("/api/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    me(&app, &user.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Re-signing it with a fresh expiry does not bring the session back.
    let mut fresh = claims.clone();
    fresh["exp"] = json!(chrono::Utc::now().timestamp() + 600);
    me(&app, &sign_valid(&fresh))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_session_id_cannot_be_borrowed_by_another_user() {
    let app = TestApp::spawn().await;
    let victim = app.register().await;
    let attacker = app.register().await;
    let mut claims = claims_of(&attacker.access);
    claims["sub"] = json!(victim.id.to_string());
    me(&app, &sign_valid(&claims))
        .await
        .assert_error(401, "UNAUTHORIZED");
    claims["sid"] = json!(Uuid::now_v7().to_string());
    me(&app, &sign_valid(&claims))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_user_on_admin_routes_gets_403() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let other = app.register().await;
    for path in ["/api/users".to_owned(), format!("/api/users/{}", other.id)] {
        let response = app.get(&path).bearer(&user.access).send().await;
        response.assert_error(403, "FORBIDDEN");
        app.get(&path)
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    // A role claim the server did not grant changes nothing: the role comes from the account.
    let mut claims = claims_of(&user.access);
    claims["role"] = json!("admin");
    app.get("/api/users")
        .bearer(&sign_valid(&claims))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn role_and_other_server_fields_cannot_be_mass_assigned() {
    let app = TestApp::spawn().await;
    let email = unique_email("mass");
    for extra in [
        json!({ "role": "admin" }),
        json!({ "emailVerified": true }),
        json!({ "id": Uuid::now_v7() }),
        json!({ "createdAt": "2020-01-01T00:00:00Z" }),
    ] {
        let mut body = json!({ "email": email, "password": PASSWORD });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let response = app.post("/api/auth/register").json(&body).send().await;
        response.assert_error(400, "VALIDATION_FAILED");
    }
    app.login(&email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");

    let user = app.register().await;
    for body in [
        json!({ "role": "admin" }),
        json!({ "name": "Mallory", "role": "admin" }),
        json!({ "emailVerified": true }),
        json!({ "id": Uuid::now_v7() }),
        json!({ "updatedAt": "2020-01-01T00:00:00Z" }),
        json!({ "passwordHash": "$argon2id$whatever" }),
    ] {
        let response = app
            .put("/api/users/me")
            .bearer(&user.access)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
    }
    let login = app
        .post("/api/auth/login")
        .json(&json!({ "email": user.email, "password": PASSWORD, "role": "admin" }))
        .send()
        .await;
    login.assert_error(400, "VALIDATION_FAILED");
    let profile = me(&app, &user.access).await;
    assert_eq!(profile.json["role"], "user");
    assert_eq!(profile.json["emailVerified"], false);
    assert_eq!(profile.json["name"], serde_json::Value::Null);
    app.get("/api/users")
        .bearer(&user.access)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn a_100_kb_email_is_a_400_not_a_500() {
    let app = TestApp::spawn().await;
    let huge = format!("{}@example.com", "a".repeat(100 * 1024));
    let user = app.register().await;
    for (path, body) in [
        (
            "/api/auth/register",
            json!({ "email": huge, "password": PASSWORD }),
        ),
        (
            "/api/auth/login",
            json!({ "email": huge, "password": PASSWORD }),
        ),
        ("/api/auth/reset-password", json!({ "email": huge })),
    ] {
        let response = app.post(path).json(&body).send().await;
        response.assert_error(400, "VALIDATION_FAILED");
        let mut paths = response.detail_paths();
        paths.dedup();
        assert_eq!(paths, ["email"], "{path}");
        assert!(
            response.text.len() < 2048,
            "the value is not echoed back: {path}"
        );
    }
    let update = app
        .put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "email": huge }))
        .send()
        .await;
    update.assert_error(400, "VALIDATION_FAILED");
    assert!(update.detail_paths().iter().all(|p| p == "email"));
    me(&app, &user.access).await.assert_status(200);
}

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
