//! Sessions: the list with its device fields, revoking one, and refresh-token rotation with its
//! grace window.

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth_support::{age_used_refresh_tokens, claims_of, login_user, me, refresh};
use crate::helpers::{PASSWORD, TestApp, TestUser};

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/auth/sessions").bearer(token).send().await;
    response.assert_status(200);
    response.json["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sid(user: &TestUser) -> String {
    claims_of(&user.access)["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sessions_list_shows_device_fields_and_marks_the_current_one() {
    let app = TestApp::spawn().await;
    let email = crate::auth_support::unique_email("devices");
    let register = app
        .post("/api/auth/register")
        .header("user-agent", "AiosApp/1.4.2 (iPhone; iOS 18.1)")
        .json(&json!({ "email": email, "password": PASSWORD,
            "device": { "name": " Ada's iPhone ", "platform": "ios", "appVersion": "1.4.2" } }))
        .send()
        .await;
    register.assert_status(201);
    let phone = TestUser::from_tokens(&register.json, &email, PASSWORD);
    let login = app
        .post("/api/auth/login")
        .json(&json!({ "email": email, "password": PASSWORD, "device": { "platform": "web" } }))
        .send()
        .await;
    login.assert_status(200);
    let web = TestUser::from_tokens(&login.json, &email, PASSWORD);

    let items = sessions(&app, &phone.access).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let find = |id: &str| items.iter().find(|s| s["id"] == id).cloned().unwrap();
    let p = find(&sid(&phone));
    assert_eq!(p["deviceName"], "Ada's iPhone");
    assert_eq!(p["platform"], "ios");
    assert_eq!(p["appVersion"], "1.4.2");
    assert_eq!(p["userAgent"], "AiosApp/1.4.2 (iPhone; iOS 18.1)");
    assert_eq!(p["ip"], "127.0.0.1");
    assert_eq!(p["current"], true);
    assert!(p["createdAt"].is_string() && p["lastUsedAt"].is_string());
    let w = find(&sid(&web));
    assert_eq!(w["platform"], "web");
    assert_eq!(w["deviceName"], Value::Null);
    assert_eq!(w["appVersion"], Value::Null);
    assert_eq!(w["current"], false);
    let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
    for key in [
        "id",
        "deviceName",
        "platform",
        "appVersion",
        "userAgent",
        "ip",
        "createdAt",
        "lastUsedAt",
        "current",
    ] {
        assert!(p.get(key).is_some(), "{key} missing: {keys:?}");
    }
    // From the other session's point of view, `current` moves.
    let from_web = sessions(&app, &web.access).await;
    let current: Vec<&Value> = from_web.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], sid(&web));
    // Another user's sessions never show.
    let stranger = app.register().await;
    assert_eq!(sessions(&app, &stranger.access).await.len(), 1);
    app.get("/api/auth/sessions")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn ended_sessions_leave_the_list() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    app.post("/api/auth/logout")
        .bearer(&second.access)
        .send()
        .await
        .assert_status(204);
    let items = sessions(&app, &user.access).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], sid(&user));
}

#[tokio::test]
async fn revoking_a_session_cuts_its_tokens_at_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let lost_phone = login_user(&app, &user).await;
    me(&app, &lost_phone.access).await.assert_status(200);
    app.delete(&format!("/api/auth/sessions/{}", sid(&lost_phone)))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    me(&app, &lost_phone.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &lost_phone.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    me(&app, &user.access).await.assert_status(200);
    // Already revoked: not one of your live sessions any more.
    app.delete(&format!("/api/auth/sessions/{}", sid(&lost_phone)))
        .bearer(&user.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    // Revoking the current session is a logout.
    app.delete(&format!("/api/auth/sessions/{}", sid(&user)))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    me(&app, &user.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn another_users_session_cannot_be_revoked_or_seen() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let stranger = app.register().await;
    for id in [sid(&stranger), Uuid::now_v7().to_string()] {
        let response = app
            .delete(&format!("/api/auth/sessions/{id}"))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(404, "NOT_FOUND");
    }
    me(&app, &stranger.access).await.assert_status(200);
    let malformed = app
        .delete("/api/auth/sessions/not-a-uuid")
        .bearer(&user.access)
        .send()
        .await;
    malformed.assert_error(400, "VALIDATION_FAILED");
    app.delete(&format!("/api/auth/sessions/{}", sid(&user)))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn refreshing_moves_last_used_at_forward() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let before = sessions(&app, &user.access).await[0]["lastUsedAt"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let next = refresh(&app, &user.refresh).await;
    next.assert_status(200);
    let next = TestUser::from_tokens(&next.json, &user.email, PASSWORD);
    let items = sessions(&app, &next.access).await;
    assert_eq!(items.len(), 1, "refresh keeps the session");
    let after = items[0]["lastUsedAt"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    assert!(after > before, "{before} -> {after}");
}

#[tokio::test]
async fn a_retried_refresh_inside_the_grace_window_keeps_the_user_logged_in() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let first = refresh(&app, &user.refresh).await;
    first.assert_status(200);
    // The response was lost on a flaky network: the app retries with the same token.
    let retry = refresh(&app, &user.refresh).await;
    retry.assert_status(200);
    let a = TestUser::from_tokens(&first.json, &user.email, PASSWORD);
    let b = TestUser::from_tokens(&retry.json, &user.email, PASSWORD);
    // The pair already issued is sent again: the session keeps one chain of tokens.
    assert_eq!((&a.refresh, &a.access), (&b.refresh, &b.access));
    assert_eq!(sid(&a), sid(&user));
    assert_eq!(sid(&b), sid(&user));
    for pair in [&a, &b] {
        me(&app, &pair.access).await.assert_status(200);
    }
    me(&app, &user.access).await.assert_status(200);
    // Still inside the default 10 s window a few seconds later: one more retry is fine.
    age_used_refresh_tokens(&app, 8).await;
    let late = refresh(&app, &user.refresh).await;
    late.assert_status(200);
    assert_eq!(late.json["refreshToken"], b.refresh.as_str());
    // The retried pair rotates normally.
    refresh(&app, &b.refresh).await.assert_status(200);
    assert_eq!(sessions(&app, &b.access).await.len(), 1);
}

#[tokio::test]
async fn two_concurrent_refreshes_of_the_same_token_both_succeed_with_one_pair() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let (one, two) = tokio::join!(refresh(&app, &user.refresh), refresh(&app, &user.refresh));
    one.assert_status(200);
    two.assert_status(200);
    let one = TestUser::from_tokens(&one.json, &user.email, PASSWORD);
    let two = TestUser::from_tokens(&two.json, &user.email, PASSWORD);
    assert_eq!((&one.refresh, &one.access), (&two.refresh, &two.access));
    assert_eq!(sid(&one), sid(&user));
    // Both requests of the app then race again with the one token they share.
    let (three, four) = tokio::join!(refresh(&app, &one.refresh), refresh(&app, &two.refresh));
    three.assert_status(200);
    four.assert_status(200);
    assert_eq!(three.json["refreshToken"], four.json["refreshToken"]);
    assert_eq!(sessions(&app, &user.access).await.len(), 1);
}

#[tokio::test]
async fn refresh_token_reuse_after_the_grace_window_revokes_the_session() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let other_session = login_user(&app, &user).await;
    let rotated = refresh(&app, &user.refresh).await;
    rotated.assert_status(200);
    let rotated = TestUser::from_tokens(&rotated.json, &user.email, PASSWORD);
    // Well past the default 10 s grace window.
    age_used_refresh_tokens(&app, 60).await;
    let replay = refresh(&app, &user.refresh).await;
    replay.assert_error(401, "TOKEN_REUSED");
    // The whole session is dead: the thief's and the owner's tokens alike.
    me(&app, &rotated.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    me(&app, &user.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &rotated.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Other sessions of the user are not touched.
    me(&app, &other_session.access).await.assert_status(200);
    refresh(&app, &other_session.refresh)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn with_no_grace_window_any_reuse_revokes_the_session() {
    let app = TestApp::builder()
        .env("REFRESH_REUSE_GRACE_SECS", "0")
        .spawn()
        .await;
    let user = app.register().await;
    let rotated = refresh(&app, &user.refresh).await;
    rotated.assert_status(200);
    let rotated = TestUser::from_tokens(&rotated.json, &user.email, PASSWORD);
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "TOKEN_REUSED");
    me(&app, &rotated.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    entity::refresh_token::Entity::update_many()
        .col_expr(
            entity::refresh_token::Column::ExpiresAt,
            Expr::value(Utc::now() - TimeDelta::seconds(1)),
        )
        .filter(entity::refresh_token::Column::UsedAt.is_null())
        .exec(&*app.state.db)
        .await
        .unwrap();
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn refresh_tokens_live_as_long_as_configured() {
    let app = TestApp::builder()
        .env("REFRESH_TOKEN_EXPIRES_IN", "7d")
        .spawn()
        .await;
    let user = app.register().await;
    let token = entity::refresh_token::Entity::find()
        .one(&*app.state.db)
        .await
        .unwrap()
        .unwrap();
    let lifetime = token.expires_at - token.created_at;
    assert_eq!(lifetime, TimeDelta::days(7));
    assert_ne!(token.token_hash, user.refresh, "stored hashed");
    assert_eq!(token.token_hash.len(), 64, "SHA-256, hex");
}
