//! Shared by the auth and users tests: forging access tokens, reaching into the database to
//! age tokens, and small request shortcuts.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TEST_JWT_SECRET, TestApp, TestResponse, TestUser};

/// The claims of an access token, read without checking the signature.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Signs `claims` with `secret` and `algorithm` (an HMAC one).
pub fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("signing a forged token")
}

/// Signs `claims` as the server would (HS256 with the test secret).
pub fn sign_valid(claims: &Value) -> String {
    sign(claims, Algorithm::HS256, TEST_JWT_SECRET.as_bytes())
}

/// An unsigned token: `{"alg":"none"}` and an empty signature.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// `GET /api/users/me` with `token`.
pub async fn me(app: &TestApp, token: &str) -> TestResponse {
    app.get("/api/users/me").bearer(token).send().await
}

pub async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.post("/api/auth/refresh")
        .json(&json!({ "refreshToken": refresh_token }))
        .send()
        .await
}

/// Logs in and returns the user with the new session's tokens.
pub async fn login_user(app: &TestApp, user: &TestUser) -> TestUser {
    let response = app.login(&user.email, &user.password).await;
    response.assert_status(200);
    TestUser::from_tokens(&response.json, &user.email, &user.password)
}

pub async fn user_row(app: &TestApp, id: impl Into<entity::UserId>) -> Option<entity::user::Model> {
    entity::user::Entity::find_by_id(id.into())
        .one(&*app.state.db)
        .await
        .expect("reading the user row")
}

pub async fn session_count(app: &TestApp, user_id: Uuid) -> u64 {
    entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(user_id))
        .count(&*app.state.db)
        .await
        .expect("counting sessions")
}

/// Pretends every used refresh token was used `secs` seconds ago.
pub async fn age_used_refresh_tokens(app: &TestApp, secs: i64) {
    let at = Utc::now() - TimeDelta::seconds(secs);
    entity::refresh_token::Entity::update_many()
        .col_expr(entity::refresh_token::Column::UsedAt, Expr::value(at))
        .filter(entity::refresh_token::Column::UsedAt.is_not_null())
        .exec(&*app.state.db)
        .await
        .expect("ageing refresh tokens");
}

/// Makes every emailed token (`password_reset` or `email_verification`) of the user expired.
pub async fn expire_user_tokens(app: &TestApp, user_id: Uuid, kind: &str) {
    let at = Utc::now() - TimeDelta::seconds(1);
    let result = entity::user_token::Entity::update_many()
        .col_expr(entity::user_token::Column::ExpiresAt, Expr::value(at))
        .filter(entity::user_token::Column::UserId.eq(user_id))
        .filter(entity::user_token::Column::Kind.eq(kind))
        .exec(&*app.state.db)
        .await
        .expect("expiring user tokens");
    assert!(result.rows_affected > 0, "no {kind} token to expire");
}

/// Waits (up to 10 s) until every queued event has become a job and every job has run (done or
/// dead): nothing is pending, running or waiting for a retry.
pub async fn wait_for_outbox(app: &TestApp) {
    use aios_app::platform::jobs::store::{JobFilter, JobState};
    for _ in 0..200 {
        let pending = entity::outbox_event::Entity::find()
            .filter(entity::outbox_event::Column::ProcessedAt.is_null())
            .count(&*app.state.db)
            .await
            .expect("counting outbox events");
        let mut unfinished = 0;
        for state in [JobState::Pending, JobState::Running, JobState::Failed] {
            let filter = JobFilter {
                state: Some(state),
                ..JobFilter::default()
            };
            unfinished += app.state.jobs.count(&filter).await.expect("counting jobs");
        }
        if pending == 0 && unfinished == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox and the job queues were not drained");
}

/// A unique email address.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", Uuid::new_v4().simple())
}
