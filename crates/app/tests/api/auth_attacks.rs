//! Attacks on authentication, each against the running app: forged and stale access tokens,
//! admin routes, mass assignment and account lockout.

use jsonwebtoken::Algorithm;
use serde_json::json;
use uuid::Uuid;

use crate::auth_support::{claims_of, me, sign, sign_valid, unique_email, unsigned};
use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp, token_in};

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
async fn a_reset_token_raced_by_two_requests_works_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .assert_status(202);
    let token = token_in(&app.wait_for_email(&user.email, "Reset").await);
    let confirm = |password: &'static str| {
        app.post("/api/auth/reset-password/confirm")
            .json(&json!({ "token": token, "password": password }))
            .send()
    };
    let (a, b) = tokio::join!(
        confirm("first racing passphrase"),
        confirm("second racing passphrase")
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 400], "{} / {}", a.text, b.text);
    let winner = if a.status == 204 {
        "first racing passphrase"
    } else {
        "second racing passphrase"
    };
    let loser = if a.status == 204 { &b } else { &a };
    loser.assert_error(400, "INVALID_TOKEN");
    app.login(&user.email, winner).await.assert_status(200);
}

#[tokio::test]
async fn two_registrations_racing_for_one_email_create_one_account() {
    let app = TestApp::spawn().await;
    let email = unique_email("race");
    let register = || {
        app.post("/api/auth/register")
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
    };
    let (a, b) = tokio::join!(register(), register());
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 201 { &b } else { &a };
    loser.assert_error(409, "EMAIL_TAKEN");
}
