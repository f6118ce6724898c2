//! The user's own account: profile, email change, deletion and export.

use serde_json::{Value, json};

use crate::auth_support::{login_user, me, refresh, session_count, unique_email, user_row};
use crate::helpers::{PASSWORD, TestApp, TestUser, token_in};

async fn create_item(app: &TestApp, user: &TestUser, name: &str) -> Value {
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": name, "data": { "n": 1 } }))
        .send()
        .await;
    response.assert_status(201);
    response.json
}

async fn update_me(app: &TestApp, user: &TestUser, body: Value) -> crate::helpers::TestResponse {
    app.put("/api/users/me")
        .bearer(&user.access)
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn get_me_returns_exactly_the_user_object() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let response = me(&app, &user.access).await;
    response.assert_status(200);
    let mut keys: Vec<&str> = response
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "emailVerified",
            "id",
            "name",
            "role",
            "updatedAt"
        ]
    );
    assert_eq!(response.json["id"], user.id.to_string());
    assert_eq!(response.json["email"], user.email);
    assert!(
        response.json["createdAt"].as_str().unwrap().ends_with('Z'),
        "ISO 8601 UTC"
    );
    app.get("/api/users/me")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn update_me_changes_and_clears_the_name() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let before = me(&app, &user.access).await.json;
    let named = update_me(&app, &user, json!({ "name": "  Grace Hopper  " })).await;
    named.assert_status(200);
    assert_eq!(named.json["name"], "Grace Hopper");
    assert_eq!(named.json["email"], user.email);
    assert_ne!(named.json["updatedAt"], before["updatedAt"]);
    assert_eq!(me(&app, &user.access).await.json["name"], "Grace Hopper");

    // Absent fields stay; an empty body changes nothing.
    let unchanged = update_me(&app, &user, json!({})).await;
    unchanged.assert_status(200);
    assert_eq!(unchanged.json, me(&app, &user.access).await.json);
    assert_eq!(unchanged.json["name"], "Grace Hopper");

    let cleared = update_me(&app, &user, json!({ "name": null })).await;
    cleared.assert_status(200);
    assert_eq!(cleared.json["name"], Value::Null);

    for bad in [
        json!({ "name": "" }),
        json!({ "name": "   " }),
        json!({ "name": "n".repeat(101) }),
        json!({ "name": 42 }),
        json!({ "email": "nope" }),
        json!({ "email": null }),
    ] {
        let response = update_me(&app, &user, bad.clone()).await;
        response.assert_error(400, "VALIDATION_FAILED");
        let field = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(response.detail_paths(), [field], "{bad}");
    }
    update_me(&app, &user, json!({ "name": "n".repeat(100) }))
        .await
        .assert_status(200);
    app.put("/api/users/me")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn changing_the_email_resets_verification_and_sends_a_new_link() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let old_link = token_in(&app.wait_for_email(&user.email, "Confirm").await);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": old_link }))
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], true);

    // The same address in another case is no change: it stays verified.
    let same = update_me(&app, &user, json!({ "email": user.email.to_uppercase() })).await;
    same.assert_status(200);
    assert_eq!(same.json["emailVerified"], true);

    let new_email = unique_email("moved");
    let changed = update_me(
        &app,
        &user,
        json!({ "email": format!(" {} ", new_email.to_uppercase()), "currentPassword": PASSWORD }),
    )
    .await;
    changed.assert_status(200);
    assert_eq!(changed.json["email"], new_email);
    assert_eq!(changed.json["emailVerified"], false);
    let token = token_in(&app.wait_for_email(&new_email, "Confirm").await);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": token }))
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], true);
    // The new address logs in; the old one no longer does.
    app.login(&new_email, PASSWORD).await.assert_status(200);
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn a_verification_link_sent_to_the_old_address_dies_with_the_change() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let old_link = token_in(&app.wait_for_email(&user.email, "Confirm").await);
    update_me(
        &app,
        &user,
        json!({ "email": unique_email("new"), "currentPassword": PASSWORD }),
    )
    .await
    .assert_status(200);
    app.post("/api/auth/verify-email")
        .json(&json!({ "token": old_link }))
        .send()
        .await
        .assert_error(400, "INVALID_TOKEN");
    assert_eq!(me(&app, &user.access).await.json["emailVerified"], false);
}

#[tokio::test]
async fn changing_to_a_taken_email_is_409() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let other = app.register().await;
    let response = update_me(
        &app,
        &user,
        json!({ "email": other.email.to_uppercase(), "name": "X", "currentPassword": PASSWORD }),
    )
    .await;
    response.assert_error(409, "EMAIL_TAKEN");
    let profile = me(&app, &user.access).await.json;
    assert_eq!(profile["email"], user.email);
    assert_eq!(
        profile["name"],
        Value::Null,
        "nothing of the request was applied"
    );
}

#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let wrong = app
        .delete("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "password": "not my password" }))
        .send()
        .await;
    wrong.assert_error(401, "INVALID_CREDENTIALS");
    for body in [
        json!({}),
        json!({ "password": "" }),
        json!({ "password": PASSWORD, "force": true }),
    ] {
        app.delete("/api/users/me")
            .bearer(&user.access)
            .json(&body)
            .send()
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    app.delete("/api/users/me")
        .bearer(&user.access)
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.delete("/api/users/me")
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    me(&app, &user.access).await.assert_status(200);
    assert!(user_row(&app, user.id).await.is_some());
}

#[tokio::test]
async fn deleting_the_account_removes_everything_it_owns_and_cuts_access_at_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    let item = create_item(&app, &user, "mine").await;
    let stranger = app.register().await;
    let theirs = create_item(&app, &stranger, "theirs").await;
    assert_eq!(session_count(&app, user.id).await, 2);

    app.delete("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .assert_status(204);
    for token in [&user.access, &second.access] {
        me(&app, token).await.assert_error(401, "UNAUTHORIZED");
    }
    refresh(&app, &second.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert!(user_row(&app, user.id).await.is_none());
    assert_eq!(session_count(&app, user.id).await, 0);
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let items = entity::item::Entity::find()
        .filter(entity::item::Column::OwnerId.eq(user.id))
        .count(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(items, 0, "items are deleted, not only hidden");
    let tokens = entity::user_token::Entity::find()
        .filter(entity::user_token::Column::UserId.eq(user.id))
        .count(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(tokens, 0);
    // Someone else's data is untouched.
    app.get(&format!("/api/data/{}", theirs["id"].as_str().unwrap()))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_status(200);
    let _ = item;
    app.login(&user.email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    // The address is free again.
    app.register_as(&user.email, PASSWORD).await;
}

#[tokio::test]
async fn export_is_a_download_of_everything_the_user_owns() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    let item = create_item(&app, &user, "exported item").await;
    let stranger = app.register().await;
    create_item(&app, &stranger, "not mine").await;

    let response = app
        .get("/api/users/me/export")
        .bearer(&user.access)
        .send()
        .await;
    response.assert_status(200);
    let disposition = response.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains(".json"), "{disposition}");
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let export = &response.json;
    assert_eq!(export["user"]["id"], user.id.to_string());
    assert_eq!(export["user"]["email"], user.email);
    assert!(export["exportedAt"].is_string());
    let sessions = export["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let second_sid = crate::auth_support::claims_of(&second.access)["sid"].clone();
    assert!(sessions.iter().any(|s| s["id"] == second_sid));
    let items = export["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], item["id"]);
    assert_eq!(items[0]["data"], json!({ "n": 1 }));
    // No secrets: no hashes, no tokens.
    for secret in [
        "passwordHash",
        "password_hash",
        "$argon2",
        &user.refresh,
        "tokenHash",
    ] {
        assert!(!response.text.contains(secret), "{secret} leaked");
    }
    assert!(!response.text.contains("not mine"));
    app.get("/api/users/me/export")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}
