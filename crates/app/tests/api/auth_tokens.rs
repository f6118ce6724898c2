//! Tokens after login: refresh, logout, logout-all, what a 401 looks like, and token lifetimes.

use serde_json::json;

use crate::auth_support::{claims_of, login_user, me, refresh};
use crate::helpers::{PASSWORD, TestApp, TestUser};

#[tokio::test]
async fn refresh_rotates_the_pair_and_keeps_the_session() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let response = refresh(&app, &user.refresh).await;
    response.assert_status(200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let next = TestUser::from_tokens(&response.json, &user.email, PASSWORD);
    assert_ne!(next.refresh, user.refresh);
    assert_eq!(
        claims_of(&next.access)["sid"],
        claims_of(&user.access)["sid"]
    );
    assert_eq!(response.json["user"]["id"], user.id.to_string());
    me(&app, &next.access).await.assert_status(200);
    // The new refresh token works in turn.
    refresh(&app, &next.refresh).await.assert_status(200);
}

#[tokio::test]
async fn refresh_refuses_unknown_and_malformed_tokens() {
    let app = TestApp::spawn().await;
    let unknown = refresh(&app, "definitely-not-a-refresh-token").await;
    unknown.assert_error(401, "UNAUTHORIZED");
    assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
    app.post("/api/auth/refresh")
        .json(&json!({}))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let empty = app
        .post("/api/auth/refresh")
        .json(&json!({ "refreshToken": "" }))
        .send()
        .await;
    empty.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(empty.detail_paths(), ["refreshToken"]);
    // An access token is not a refresh token.
    let user = app.register().await;
    refresh(&app, &user.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn logout_cuts_the_session_at_once() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let other = login_user(&app, &user).await;
    me(&app, &user.access).await.assert_status(200);
    app.post("/api/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    me(&app, &user.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Other sessions live on.
    me(&app, &other.access).await.assert_status(200);
    // A second logout with the dead token is a 401.
    app.post("/api/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn logout_with_a_refresh_token_also_ends_that_session_if_it_is_yours() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    let stranger = app.register().await;
    app.post("/api/auth/logout")
        .bearer(&user.access)
        .json(&json!({ "refreshToken": stranger.refresh }))
        .send()
        .await
        .assert_status(204);
    me(&app, &stranger.access).await.assert_status(200);

    let third = login_user(&app, &user).await;
    app.post("/api/auth/logout")
        .bearer(&third.access)
        .json(&json!({ "refreshToken": second.refresh }))
        .send()
        .await
        .assert_status(204);
    me(&app, &third.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    me(&app, &second.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/auth/logout")
        .bearer(&stranger.access)
        .json(&json!({ "refreshToken": 42 }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_only() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let second = login_user(&app, &user).await;
    let stranger = app.register().await;
    app.post("/api/auth/logout-all")
        .bearer(&second.access)
        .send()
        .await
        .assert_status(204);
    for token in [&user.access, &second.access] {
        me(&app, token).await.assert_error(401, "UNAUTHORIZED");
    }
    for token in [&user.refresh, &second.refresh] {
        refresh(&app, token).await.assert_error(401, "UNAUTHORIZED");
    }
    me(&app, &stranger.access).await.assert_status(200);
    // The password still works: a new login opens a new session.
    login_user(&app, &user).await;
    app.post("/api/auth/logout-all")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn unauthorized_answers_carry_www_authenticate_bearer() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for (path, header) in [
        ("/api/users/me", None),
        ("/api/auth/sessions", Some("Bearer")),
        ("/api/users/me", Some("Bearer not-a-jwt")),
        ("/api/users/me", Some("Basic dXNlcjpwYXNz")),
    ] {
        let mut request = app.get(path);
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let response = request.send().await;
        response.assert_error(401, "UNAUTHORIZED");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{path} {header:?}"
        );
    }
    // The token is accepted in the header only, never in the query string.
    let in_query = app
        .get(&format!("/api/users/me?access_token={}", user.access))
        .send()
        .await;
    in_query.assert_error(401, "UNAUTHORIZED");
    // The scheme is case-insensitive.
    app.get("/api/users/me")
        .header("authorization", &format!("bearer {}", user.access))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn token_lifetimes_follow_the_configuration() {
    let app = TestApp::builder().env("JWT_EXPIRES_IN", "5m").spawn().await;
    let user = app.register().await;
    let login = app.login(&user.email, PASSWORD).await;
    login.assert_status(200);
    assert_eq!(login.json["expiresIn"], 300);
    let claims = claims_of(login.json["accessToken"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
}

#[tokio::test]
async fn an_app_below_min_app_version_cannot_log_in() {
    let app = TestApp::builder()
        .env("MIN_APP_VERSION", "3.0.0")
        .spawn()
        .await;
    let user = app.register().await;
    let old = app
        .post("/api/auth/login")
        .header("x-app-version", "2.9.9")
        .json(&json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await;
    old.assert_error(426, "UPGRADE_REQUIRED");
    app.post("/api/auth/login")
        .header("x-app-version", "3.0.0")
        .json(&json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await
        .assert_status(200);
    me(&app, &user.access).await.assert_status(200);
    app.get("/api/users/me")
        .bearer(&user.access)
        .header("x-app-version", "1.0")
        .send()
        .await
        .assert_error(426, "UPGRADE_REQUIRED");
}

#[tokio::test]
async fn absurdly_long_configured_lifetimes_do_not_break_tokens() {
    let app = TestApp::builder()
        .env("JWT_EXPIRES_IN", "100000000years")
        .env("REFRESH_TOKEN_EXPIRES_IN", "100000000years")
        .spawn()
        .await;
    let user = app.register().await;
    me(&app, &user.access).await.assert_status(200);
    let next = refresh(&app, &user.refresh).await;
    next.assert_status(200);
    let access = next.json["accessToken"].as_str().unwrap();
    let claims = claims_of(access);
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    me(&app, access).await.assert_status(200);
}

#[tokio::test]
async fn logout_cuts_access_even_with_requests_in_flight() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for _ in 0..10 {
        let session = login_user(&app, &user).await;
        let readers = futures::future::join_all((0..8).map(|_| me(&app, &session.access)));
        let logout = app.post("/api/auth/logout").bearer(&session.access).send();
        let (answers, logout) = tokio::join!(readers, logout);
        logout.assert_status(204);
        assert!(answers.iter().all(|r| r.status == 200 || r.status == 401));
        // Whatever raced with it, once the logout has answered the session is dead.
        me(&app, &session.access)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
}
