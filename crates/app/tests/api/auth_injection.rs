//! Hostile strings in every string field of the auth and users endpoints: SQL-injection
//! payloads are stored and returned verbatim, and nothing answers 500.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth_support::{me, refresh, session_count};
use crate::helpers::{PASSWORD, TestApp, TestUser};

const PAYLOADS: [&str; 6] = [
    "'; DROP TABLE users; --",
    "\" OR \"1\"=\"1",
    "1' OR '1'='1' --",
    "Robert'); DELETE FROM sessions;--",
    "%' UNION SELECT password_hash FROM users --",
    "\\'; SELECT pg_sleep(0); --",
];

/// An email address whose local part is an injection attempt, but still a valid address.
fn hostile_email(i: usize) -> String {
    format!("x'OR'1'='1--{i}-{}@example.com", Uuid::new_v4().simple())
}

fn no_server_error(response: &crate::helpers::TestResponse, what: &str) {
    assert!(
        !response.status.is_server_error(),
        "{what}: {} {}",
        response.status,
        response.text
    );
}

#[tokio::test]
async fn injection_strings_in_register_and_login_are_stored_verbatim() {
    let app = TestApp::spawn().await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let email = hostile_email(i);
        let password = format!("{payload} pw");
        let short: String = payload.chars().take(32).collect();
        let response = app
            .post("/api/auth/register")
            .header("user-agent", payload)
            .json(
                &json!({ "email": email, "password": password, "name": payload,
                "device": { "name": payload, "platform": short, "appVersion": short } }),
            )
            .send()
            .await;
        response.assert_status(201);
        let user = TestUser::from_tokens(&response.json, &email, &password);
        assert_eq!(response.json["user"]["email"], email.to_lowercase());
        assert_eq!(response.json["user"]["name"], *payload);

        let session = &app
            .get("/api/auth/sessions")
            .bearer(&user.access)
            .send()
            .await
            .json["items"][0];
        assert_eq!(session["deviceName"], *payload);
        assert_eq!(session["platform"], short.trim());
        assert_eq!(session["appVersion"], short.trim());
        assert_eq!(session["userAgent"], *payload);

        app.login(&email, &password).await.assert_status(200);
        let wrong = app.login(&email, payload).await;
        wrong.assert_error(401, "INVALID_CREDENTIALS");
        let as_email = app
            .post("/api/auth/login")
            .json(&json!({ "email": payload, "password": payload }))
            .send()
            .await;
        as_email.assert_error(400, "VALIDATION_FAILED");
    }
    // Every account is still there, and nothing else was created or dropped.
    let admin = app.admin().await;
    let list = app.get("/api/users").bearer(&admin.access).send().await;
    list.assert_status(200);
    assert_eq!(list.json["total"], PAYLOADS.len() + 1);
}

#[tokio::test]
async fn injection_strings_in_tokens_and_passwords_are_just_wrong() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for payload in PAYLOADS {
        refresh(&app, payload)
            .await
            .assert_error(401, "UNAUTHORIZED");
        me(&app, payload).await.assert_error(401, "UNAUTHORIZED");
        app.post("/api/auth/reset-password/confirm")
            .json(&json!({ "token": payload, "password": "a brand new passphrase" }))
            .send()
            .await
            .assert_error(400, "INVALID_TOKEN");
        app.post("/api/auth/verify-email")
            .json(&json!({ "token": payload }))
            .send()
            .await
            .assert_error(400, "INVALID_TOKEN");
        app.post("/api/auth/change-password")
            .bearer(&user.access)
            .json(&json!({ "currentPassword": payload, "newPassword": "a brand new passphrase" }))
            .send()
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
        app.delete("/api/users/me")
            .bearer(&user.access)
            .json(&json!({ "password": payload }))
            .send()
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
        let session = app.login(&user.email, PASSWORD).await;
        let logout = app
            .post("/api/auth/logout")
            .bearer(session.json["accessToken"].as_str().unwrap())
            .json(&json!({ "refreshToken": payload }))
            .send()
            .await;
        logout.assert_status(204);
        let reset = app
            .post("/api/auth/reset-password")
            .json(&json!({ "email": payload }))
            .send()
            .await;
        reset.assert_error(400, "VALIDATION_FAILED");
        let register = app
            .post("/api/auth/register")
            .header("idempotency-key", payload)
            .json(&json!({ "email": hostile_email(0), "password": PASSWORD }))
            .send()
            .await;
        register.assert_status(201);
    }
    // The user and their first session are untouched.
    me(&app, &user.access).await.assert_status(200);
    assert_eq!(
        session_count(&app, user.id).await,
        1 + PAYLOADS.len() as u64
    );
    let changed = app
        .post("/api/auth/change-password")
        .bearer(&user.access)
        .json(&json!({ "currentPassword": PASSWORD, "newPassword": PAYLOADS[0] }))
        .send()
        .await;
    changed.assert_status(204);
    app.login(&user.email, PAYLOADS[0]).await.assert_status(200);
}

#[tokio::test]
async fn injection_strings_in_profile_search_and_paths_are_harmless() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let email = hostile_email(i);
        let updated = app
            .put("/api/users/me")
            .bearer(&user.access)
            .json(&json!({ "name": payload, "email": email, "currentPassword": PASSWORD }))
            .send()
            .await;
        updated.assert_status(200);
        assert_eq!(updated.json["name"], *payload);
        assert_eq!(updated.json["email"], email.to_lowercase());
        assert_eq!(me(&app, &user.access).await.json["name"], *payload);

        // Searching for the payload finds exactly the user who has it as a name.
        let encoded: String = form_urlencoded::byte_serialize(payload.as_bytes()).collect();
        let found = app
            .get(&format!("/api/users?q={encoded}"))
            .bearer(&admin.access)
            .send()
            .await;
        found.assert_status(200);
        let items: Vec<&Value> = found.json["items"].as_array().unwrap().iter().collect();
        assert_eq!(items.len(), 1, "{payload}: {}", found.text);
        assert_eq!(items[0]["id"], user.id.to_string());

        for (is_session, path) in [
            (false, format!("/api/users/{encoded}")),
            (true, format!("/api/auth/sessions/{encoded}")),
        ] {
            let response = if is_session {
                app.delete(&path).bearer(&user.access).send().await
            } else {
                app.get(&path).bearer(&admin.access).send().await
            };
            no_server_error(&response, &path);
            assert_eq!(response.status.as_u16(), 400, "{path}: {}", response.text);
        }
    }
}

#[tokio::test]
async fn control_characters_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    let nul = "bad\u{0}name";
    let register = app
        .post("/api/auth/register")
        .json(
            &json!({ "email": crate::auth_support::unique_email("nul"), "password": PASSWORD,
            "name": nul, "device": { "name": nul, "platform": nul, "appVersion": nul } }),
        )
        .send()
        .await;
    register.assert_error(400, "VALIDATION_FAILED");
    let mut paths = register.detail_paths();
    paths.sort();
    assert_eq!(
        paths,
        [
            "device.appVersion",
            "device.name",
            "device.platform",
            "name"
        ]
    );
    let update = app
        .put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "name": nul }))
        .send()
        .await;
    update.assert_error(400, "VALIDATION_FAILED");
    let email = app
        .put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "email": "a\u{0}b@example.com" }))
        .send()
        .await;
    email.assert_error(400, "VALIDATION_FAILED");
    let login = app
        .post("/api/auth/login")
        .json(&json!({ "email": "a\u{0}b@example.com", "password": "nul\u{0}password" }))
        .send()
        .await;
    login.assert_error(400, "VALIDATION_FAILED");
    let search = app
        .get("/api/users?q=a%00b")
        .bearer(&admin.access)
        .send()
        .await;
    search.assert_error(400, "VALIDATION_FAILED");
    // A NUL inside a password or a token is only ever hashed: no harm, no 500.
    let change = app
        .post("/api/auth/change-password")
        .bearer(&user.access)
        .json(
            &json!({ "currentPassword": "nul\u{0}password", "newPassword": "new\u{0}passphrase!" }),
        )
        .send()
        .await;
    change.assert_error(401, "INVALID_CREDENTIALS");
    refresh(&app, "nul\u{0}token")
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(me(&app, &user.access).await.json["name"], Value::Null);
}
