//! The rules of authentication. Services never see axum types.

pub mod change_password;
pub mod login;
pub mod logout;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod sessions;
pub mod verification;

use chrono::{DateTime, TimeDelta, Utc};
use entity::{SessionId, UserId};
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use super::dto::{DeviceInfo, TokenResponse};
use super::error::AuthError;
use super::repo::{refresh_tokens, sessions as session_repo};
use crate::platform::secrets;
use crate::state::AppState;
use crate::users::Email;
use crate::users::dto::UserDto;

/// Where a request comes from, recorded on the sessions it opens.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The longest lifetime anything gets, whatever the configuration says: adding more to a
/// timestamp would overflow (and panic) instead of meaning "forever".
const MAX_LIFETIME: TimeDelta = TimeDelta::days(100 * 365);

pub(crate) fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration)
        .unwrap_or(MAX_LIFETIME)
        .min(MAX_LIFETIME)
}

/// Opens a session with its first refresh token; returns the session id and the token.
pub(crate) async fn open_session(
    conn: &impl ConnectionTrait,
    app: &AppState,
    user_id: UserId,
    device: Option<DeviceInfo>,
    client: ClientInfo,
    now: DateTime<Utc>,
) -> Result<(SessionId, String), AuthError> {
    let device = device.unwrap_or_default();
    let expires_at = now + delta(app.config.auth.refresh_token_ttl);
    let session = session_repo::insert(
        conn,
        session_repo::NewSession {
            user_id,
            device_name: device.name.filter(|s| !s.is_empty()),
            platform: device.platform.filter(|s| !s.is_empty()),
            app_version: device.app_version.filter(|s| !s.is_empty()),
            user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
            ip: client.ip,
            expires_at,
        },
        now,
    )
    .await?;
    let refresh = secrets::random_token();
    refresh_tokens::insert(
        conn,
        session.id,
        secrets::hash_token(&refresh),
        now,
        expires_at,
    )
    .await?;
    Ok((session.id, refresh))
}

pub(crate) fn token_response(
    app: &AppState,
    user: entity::user::Model,
    session_id: SessionId,
    refresh_token: String,
) -> Result<TokenResponse, AuthError> {
    let access_token = app.jwt.issue(user.id, session_id, user.role.as_str())?;
    Ok(TokenResponse {
        user: UserDto::from(user),
        access_token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: app.jwt.ttl().as_secs(),
    })
}

/// The failed-login counter is keyed by a hash of the normalised email, so it works the same
/// for addresses with and without an account and stores no addresses.
pub(crate) fn throttle_key(email: &Email) -> String {
    hex::encode(Sha256::digest(format!("login:{email}").as_bytes()))
}

/// Counts one request against `limit` per minute under `tier`/`id`; over it, `RateLimited`
/// with that budget (a cache failure lets the request through).
async fn limit(app: &AppState, tier: &str, id: &str, limit: u64) -> Result<(), AuthError> {
    match crate::platform::rate_limit::hit(app, tier, id, limit).await {
        Some(budget) if budget.exceeded() => Err(AuthError::RateLimited(budget)),
        _ => Ok(()),
    }
}

/// Anonymous attempts against an account (login, reset-password), on top of the per-IP budget
/// the middleware enforces: spreading attempts over many addresses does not help. Keyed by the
/// email's hash, so it works the same for addresses without an account.
pub async fn limit_attempts_on(app: &AppState, email: &Email) -> Result<(), AuthError> {
    let limit_per_min = app.config.rate_limits.auth_per_min;
    limit(app, "auth-account", &throttle_key(email), limit_per_min).await
}

/// Password checks behind an access token (change-password, account deletion, email change):
/// a stolen token must not allow unlimited guesses. A budget of its own, keyed by the user,
/// so that strangers failing logins against the address never lock its owner out of these.
pub async fn limit_password_checks(app: &AppState, user_id: UserId) -> Result<(), AuthError> {
    let limit_per_min = app.config.rate_limits.auth_per_min;
    limit(app, "account", &user_id.to_string(), limit_per_min).await
}

/// Verification mails: per account and per address, so that nobody can point an account at
/// a stranger's address and flood it.
pub async fn limit_verification_mail(
    app: &AppState,
    user_id: UserId,
    email: &Email,
) -> Result<(), AuthError> {
    let limit_per_min = app.config.rate_limits.auth_per_min;
    limit(app, "verify-user", &user_id.to_string(), limit_per_min).await?;
    limit(app, "verify-address", &throttle_key(email), limit_per_min).await
}

/// Refuses passwords that break the policy, naming the field.
pub(crate) fn check_policy(
    field: &'static str,
    password: &str,
    email: &Email,
) -> Result<(), AuthError> {
    match super::password::policy_violation(password, email.as_str()) {
        Some(message) => Err(AuthError::WeakPassword(field, message)),
        None => Ok(()),
    }
}
