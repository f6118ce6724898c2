//! Register, login, refresh, logout and logout-all: the happy paths and their error paths.

use serde_json::json;
use uuid::Uuid;

use crate::auth_support::{claims_of, me, unique_email, user_row};
use crate::helpers::{PASSWORD, TestApp, TestUser};

#[tokio::test]
async fn register_returns_a_token_response_that_is_never_cached() {
    let app = TestApp::spawn().await;
    let email = unique_email("Ada");
    let response = app
        .post("/api/auth/register")
        .json(
            &json!({ "email": format!("  {}  ", email.to_uppercase()), "password": PASSWORD,
            "name": "  Ada Lovelace " }),
        )
        .send()
        .await;
    response.assert_status(201);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = &response.json;
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(
        body["expiresIn"], 900,
        "JWT_EXPIRES_IN defaults to 15 minutes"
    );
    assert!(body["refreshToken"].as_str().is_some_and(|t| t.len() >= 43));
    let user = &body["user"];
    assert_eq!(
        user["email"],
        email.to_lowercase(),
        "trimmed and lower-cased"
    );
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "user");
    assert_eq!(user["emailVerified"], false);
    assert!(user["createdAt"].is_string() && user["updatedAt"].is_string());
    assert!(user.get("passwordHash").is_none() && user.get("password_hash").is_none());
    let id: Uuid = user["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7");

    let access = body["accessToken"].as_str().unwrap();
    me(&app, access).await.assert_status(200);
    let claims = claims_of(access);
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["iss"], "aios-server");
    assert_eq!(claims["aud"], "aios-app");
    assert!(claims["sid"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
}

#[tokio::test]
async fn register_sends_a_verification_email() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let email = app.wait_for_email(&user.email, "Confirm").await;
    assert!(
        email.text.contains("/verify-email?token="),
        "{}",
        email.text
    );
}

#[tokio::test]
async fn register_refuses_a_taken_email_whatever_its_case() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let again = app
        .post("/api/auth/register")
        .json(&json!({ "email": user.email.to_uppercase(), "password": "another good passphrase" }))
        .send()
        .await;
    again.assert_error(409, "EMAIL_TAKEN");
    assert!(again.json.get("accessToken").is_none());
    assert_eq!(crate::auth_support::session_count(&app, user.id).await, 1);
    // The original password still logs in: the account was not touched.
    app.login(&user.email, PASSWORD).await.assert_status(200);
}

#[tokio::test]
async fn register_validates_every_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({ "password": PASSWORD }), "email"),
        (json!({ "email": "nobody@example.com" }), "password"),
        (
            json!({ "email": "not an email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "seven77" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "x".repeat(129) }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "" }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "n".repeat(101) }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "device": { "name": "d".repeat(101) } }),
            "device.name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "device": { "platform": "p".repeat(33) } }),
            "device.platform",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "device": { "appVersion": "1".repeat(33) } }),
            "device.appVersion",
        ),
    ];
    for (body, path) in cases {
        let response = app.post("/api/auth/register").json(&body).send().await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert!(
            response.detail_paths().iter().any(|p| p == path),
            "{body} should fail on {path}: {}",
            response.text
        );
    }
    // Boundaries that are allowed: 8 and 128 characters (characters, not bytes).
    for password in ["é".repeat(8), "long enough ".repeat(10) + "12345678"] {
        assert_eq!(
            password.chars().count().clamp(8, 128),
            password.chars().count()
        );
        let response = app
            .post("/api/auth/register")
            .json(&json!({ "email": unique_email("edge"), "password": password }))
            .send()
            .await;
        response.assert_status(201);
    }
}

#[tokio::test]
async fn register_refuses_common_passwords_and_the_email_itself_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let email = unique_email("policy");
    for (password, needle) in [
        ("password123", "too common"),
        ("Qwertyuiop", "too common"),
        (email.as_str(), "must not be your email"),
    ] {
        let response = app
            .post("/api/auth/register")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["password"], "{}", response.text);
        let message = response.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{password}: {message}");
    }
    let upper = email.to_uppercase();
    let response = app
        .post("/api/auth/register")
        .json(&json!({ "email": email, "password": upper }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert!(
        app.login(&email, PASSWORD).await.status == 401,
        "no account was created by the refused attempts"
    );
}

#[tokio::test]
async fn register_with_an_idempotency_key_runs_once_and_replays_the_answer() {
    let app = TestApp::spawn().await;
    let email = unique_email("idem");
    let body = json!({ "email": email, "password": PASSWORD });
    let first = app
        .post("/api/auth/register")
        .header("idempotency-key", "register-1")
        .json(&body)
        .send()
        .await;
    first.assert_status(201);
    assert!(first.header("idempotent-replayed").is_none());

    let replay = app
        .post("/api/auth/register")
        .header("idempotency-key", "register-1")
        .json(&body)
        .send()
        .await;
    replay.assert_status(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("cache-control"), Some("no-store"));
    assert_eq!(replay.json, first.json, "the same body, tokens included");

    let different = app
        .post("/api/auth/register")
        .header("idempotency-key", "register-1")
        .json(&json!({ "email": unique_email("other"), "password": PASSWORD }))
        .send()
        .await;
    different.assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");

    // Without the key the same body is a second registration: the email is taken.
    app.post("/api/auth/register")
        .json(&body)
        .send()
        .await
        .assert_error(409, "EMAIL_TAKEN");
    let user = TestUser::from_tokens(&first.json, &email, PASSWORD);
    assert_eq!(crate::auth_support::session_count(&app, user.id).await, 1);
}

#[tokio::test]
async fn a_failed_register_does_not_burn_its_idempotency_key() {
    let app = TestApp::spawn().await;
    let taken = app.register().await;
    let body = json!({ "email": taken.email, "password": PASSWORD });
    for _ in 0..2 {
        let response = app
            .post("/api/auth/register")
            .header("idempotency-key", "retry-me")
            .json(&body)
            .send()
            .await;
        response.assert_error(409, "EMAIL_TAKEN");
        assert!(
            response.header("idempotent-replayed").is_none(),
            "ran again"
        );
    }
    app.post("/api/auth/register")
        .header("idempotency-key", "x".repeat(256).as_str())
        .json(&json!({ "email": unique_email("k"), "password": PASSWORD }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn login_opens_a_new_session_with_a_token_response() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let response = app
        .login(&format!("  {}  ", user.email.to_uppercase()), PASSWORD)
        .await;
    response.assert_status(200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.json["user"]["id"], user.id.to_string());
    assert_eq!(response.json["tokenType"], "Bearer");
    let second = TestUser::from_tokens(&response.json, &user.email, PASSWORD);
    assert_ne!(
        claims_of(&second.access)["sid"],
        claims_of(&user.access)["sid"]
    );
    me(&app, &second.access).await.assert_status(200);
    me(&app, &user.access).await.assert_status(200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let wrong = app.login(&user.email, "not the password at all").await;
    wrong.assert_error(401, "INVALID_CREDENTIALS");
    let unknown = app.login(&unique_email("ghost"), PASSWORD).await;
    unknown.assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.json["error"], unknown.json["error"]);
    assert_eq!(
        wrong.json.as_object().map(|o| o.len()),
        unknown.json.as_object().map(|o| o.len())
    );
    assert!(
        wrong.header("www-authenticate").is_none(),
        "not a token problem"
    );
    // A login with a malformed body is a validation error, not a credentials check.
    app.post("/api/auth/login")
        .json(&json!({ "email": user.email, "password": "" }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_legacy_bcrypt_hash_logs_in_and_is_rehashed_to_argon2id() {
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};
    let app = TestApp::spawn().await;
    let email = unique_email("legacy");
    let legacy = bcrypt::hash(PASSWORD, 10).unwrap();
    let now = aios_app::platform::clock::now();
    let id = entity::UserId::new();
    entity::user::ActiveModel {
        id: Set(id),
        email: Set(email.clone()),
        name: Set(None),
        password_hash: Set(legacy.clone()),
        role: Set(entity::user::Role::User),
        email_verified: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&*app.state.db)
    .await
    .unwrap();

    app.login(&email, "wrong password here")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(
        user_row(&app, id).await.unwrap().password_hash,
        legacy,
        "no rehash on failure"
    );

    let response = app.login(&email, PASSWORD).await;
    response.assert_status(200);
    let stored = user_row(&app, id).await.unwrap().password_hash;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    // The new hash works, and the old one is gone.
    app.login(&email, PASSWORD).await.assert_status(200);
    assert_eq!(
        user_row(&app, id).await.unwrap().password_hash,
        stored,
        "rehashed once"
    );
}
