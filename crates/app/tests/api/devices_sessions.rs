//! A device belongs to the session that registered it and goes when that session ends: logout,
//! logout-all, revocation, refresh-token reuse, a password change or reset, account deletion.

use entity::device;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::auth_support::claims_of;
use crate::devices_support::{apns_token, fcm_token, register_device};
use crate::helpers::{TestApp, TestUser, token_in};

/// The devices of a user, by platform, straight from the database.
async fn stored(app: &TestApp, user: Uuid) -> Vec<String> {
    let mut platforms: Vec<String> = device::Entity::find()
        .filter(device::Column::UserId.eq(user))
        .all(&*app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| format!("{:?}", d.platform).to_lowercase())
        .collect();
    platforms.sort();
    platforms
}

/// The user with an iOS device in the first session and an Android one in a second session.
async fn two_sessions(app: &TestApp) -> (TestUser, TestUser) {
    let phone = app.register().await;
    register_device(app, &phone.access, "ios", json!(apns_token()))
        .await
        .assert_status(201);
    let login = app.login(&phone.email, &phone.password).await;
    login.assert_status(200);
    let tablet = TestUser::from_tokens(&login.json, &phone.email, &phone.password);
    register_device(app, &tablet.access, "android", json!(fcm_token()))
        .await
        .assert_status(201);
    assert_eq!(stored(app, phone.id).await, ["android", "ios"]);
    (phone, tablet)
}

#[tokio::test]
async fn logout_removes_only_that_sessions_devices() {
    let app = TestApp::spawn().await;
    let (phone, tablet) = two_sessions(&app).await;
    app.post("/api/auth/logout")
        .bearer(&phone.access)
        .send()
        .await
        .assert_status(204);
    assert_eq!(stored(&app, phone.id).await, ["android"]);
    // A device cannot be bound to a session that has ended.
    register_device(&app, &phone.access, "ios", json!(apns_token()))
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/auth/logout-all")
        .bearer(&tablet.access)
        .send()
        .await
        .assert_status(204);
    assert!(stored(&app, phone.id).await.is_empty());
}

#[tokio::test]
async fn revoking_a_session_removes_its_devices() {
    let app = TestApp::spawn().await;
    let (phone, tablet) = two_sessions(&app).await;
    let sid = claims_of(&tablet.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/auth/sessions/{sid}"))
        .bearer(&phone.access)
        .send()
        .await
        .assert_status(204);
    assert_eq!(stored(&app, phone.id).await, ["ios"]);
}

#[tokio::test]
async fn a_password_change_removes_the_other_sessions_devices() {
    let app = TestApp::spawn().await;
    let (phone, _tablet) = two_sessions(&app).await;
    app.post("/api/auth/change-password")
        .bearer(&phone.access)
        .json(&json!({"currentPassword": phone.password, "newPassword": "an entirely new passphrase 42"}))
        .send()
        .await
        .assert_status(204);
    assert_eq!(
        stored(&app, phone.id).await,
        ["ios"],
        "the caller's session stays, and its device"
    );
}

#[tokio::test]
async fn a_password_reset_removes_every_device() {
    let app = TestApp::spawn().await;
    let (phone, _tablet) = two_sessions(&app).await;
    app.post("/api/auth/reset-password")
        .json(&json!({"email": phone.email}))
        .send()
        .await
        .assert_status(202);
    let email = app.wait_for_email(&phone.email, "Reset").await;
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({"token": token_in(&email), "password": "an entirely new passphrase 42"}))
        .send()
        .await
        .assert_status(204);
    assert!(stored(&app, phone.id).await.is_empty());
}

#[tokio::test]
async fn refresh_token_reuse_removes_the_sessions_devices() {
    let app = TestApp::builder()
        .env("REFRESH_REUSE_GRACE_SECS", "0")
        .spawn()
        .await;
    let (phone, _tablet) = two_sessions(&app).await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post("/api/auth/refresh")
                .json(&json!({"refreshToken": token}))
                .send()
                .await
        }
    };
    refresh(phone.refresh.clone()).await.assert_status(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    refresh(phone.refresh.clone())
        .await
        .assert_error(401, "TOKEN_REUSED");
    assert_eq!(stored(&app, phone.id).await, ["android"]);
}

#[tokio::test]
async fn account_deletion_takes_the_devices_and_the_inbox() {
    let app = TestApp::spawn().await;
    let (phone, _tablet) = two_sessions(&app).await;
    let admin = app.admin().await;
    crate::devices_support::notify(&app, &admin.access, phone.id, "Bye").await;
    app.delete("/api/users/me")
        .bearer(&phone.access)
        .json(&json!({"password": phone.password}))
        .send()
        .await
        .assert_status(204);
    assert!(stored(&app, phone.id).await.is_empty());
    let left = entity::notification::Entity::find()
        .filter(entity::notification::Column::UserId.eq(phone.id))
        .count(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
