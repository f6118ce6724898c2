use chrono::{DateTime, TimeDelta, Utc};
use entity::UserId;
use secrecy::SecretString;

use super::{ClientInfo, limit_attempts_on, open_session, throttle_key, token_response};
use crate::audit;
use crate::auth::dto::{LoginRequest, TokenResponse};
use crate::auth::error::AuthError;
use crate::auth::repo::throttle;
use crate::platform::config::AuthConfig;
use crate::platform::password_hash::Verified;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email};

/// How long an account stays locked after `failures` consecutive failures: nothing below the
/// threshold, then the base doubling with every further failure, up to the cap. The cap keeps
/// an attacker who knows an address from locking its owner out for long (lock-out abuse); the
/// doubling makes guessing slow (brute force): with the defaults, 5 failures cost 1 minute and
/// 11 cost an hour, so at most ~30 guesses a day after the first hour.
pub fn lock_duration(failures: i32, config: &AuthConfig) -> Option<TimeDelta> {
    let threshold = i32::try_from(config.lockout_threshold).unwrap_or(i32::MAX);
    if failures < threshold {
        return None;
    }
    let doublings = u32::try_from(failures - threshold).unwrap_or(0).min(30);
    let base = config.lockout_base.as_secs().max(1);
    let secs = base
        .saturating_mul(1u64 << doublings)
        .min(config.lockout_max.as_secs());
    Some(TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(0);
    u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1)
}

#[tracing::instrument(skip_all)]
pub async fn login(
    app: &AppState,
    request: LoginRequest,
    client: ClientInfo,
) -> Result<TokenResponse, AuthError> {
    let email = Email::normalize(&request.email);
    limit_attempts_on(app, &email).await?;
    let key = throttle_key(&email);
    // A locked account is refused before any hashing: locked attempts cost nothing.
    if let Some(retry_after_secs) = active_lock(&*app.db, &key, clock::now()).await? {
        audit!("login.locked_out", ip = ?client.ip);
        return Err(AuthError::AccountLocked { retry_after_secs });
    }

    let user = users::service::find_by_email(&*app.db, &email).await?;
    let password = SecretString::from(request.password);
    // Unknown emails are checked against a dummy hash: the same work, the same answer.
    let verified = app
        .passwords
        .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;

    let (user, rehash) = match (user, verified) {
        (Some(user), Verified::Yes { rehash }) => (user, rehash),
        (user, _) => {
            let user_id = user.map(|u| u.id);
            let locked = record_failure(app, &key, user_id).await?;
            audit!("login.failure", user_id = user_id.map(display), ip = ?client.ip);
            return Err(match locked {
                Some(retry_after_secs) => AuthError::AccountLocked { retry_after_secs },
                None => AuthError::InvalidCredentials,
            });
        }
    };

    let new_hash = if rehash {
        Some(app.passwords.hash(&password).await?)
    } else {
        None
    };
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    // Parallel guesses may have locked the account while this password was being hashed: a
    // burst must not get more answers than the lock allows, right or wrong.
    if let Some(retry_after_secs) = active_lock(&txn, &key, now).await? {
        audit!("login.locked_out", user_id = %user.id, ip = ?client.ip);
        return Err(AuthError::AccountLocked { retry_after_secs });
    }
    throttle::clear(&txn, &key).await?;
    if let Some(hash) = &new_hash {
        users::service::set_password_hash(&txn, user.id, hash, now).await?;
    }
    let (session_id, refresh) =
        open_session(&txn, app, user.id, request.device, client, now).await?;
    txn.commit().await?;
    if new_hash.is_some() {
        audit!("password.rehashed", user_id = %user.id);
    }
    audit!("login.success", user_id = %user.id, session_id = %session_id);
    token_response(app, user, session_id, refresh)
}

/// Seconds until the lock on `key` ends, if it is locked at `now`.
async fn active_lock(
    conn: &impl sea_orm::ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, AuthError> {
    Ok(throttle::find(conn, key)
        .await?
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now)
        .map(|until| seconds_until(until, now)))
}

/// Counts a failed attempt, locking the account when it reaches the threshold. An attempt that
/// finishes while the account is already locked (one of a burst) is refused like one that
/// arrived during the lock: `Some(retry_after)`, and it is not counted.
async fn record_failure(
    app: &AppState,
    key: &str,
    user_id: Option<UserId>,
) -> Result<Option<u64>, AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let current = throttle::find_for_update(&txn, key).await?;
    if let Some(until) = current.and_then(|t| t.locked_until).filter(|u| *u > now) {
        return Ok(Some(seconds_until(until, now)));
    }
    let failures = throttle::record_failure(&txn, key, now).await?;
    let lock = lock_duration(failures, &app.config.auth);
    if let Some(duration) = lock {
        throttle::lock_until(&txn, key, now + duration).await?;
    }
    txn.commit().await?;
    if let Some(duration) = lock {
        audit!(
            "login.lockout",
            user_id = user_id.map(display),
            failures,
            lock_secs = duration.num_seconds()
        );
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            jwt_secret: None,
            jwt_issuer: String::new(),
            jwt_audience: String::new(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(86_400),
            refresh_reuse_grace: Duration::from_secs(10),
            lockout_threshold: 5,
            lockout_base: Duration::from_secs(60),
            lockout_max: Duration::from_secs(3600),
            password_hash_concurrency: 1,
            password_reset_ttl: Duration::from_secs(1800),
            email_verification_ttl: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn locks_grow_exponentially_up_to_the_cap() {
        let secs = |f| lock_duration(f, &config()).map(|d| d.num_seconds());
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(60));
        assert_eq!(secs(6), Some(120));
        assert_eq!(secs(7), Some(240));
        assert_eq!(secs(11), Some(3600));
        assert_eq!(secs(1000), Some(3600));
    }
}
