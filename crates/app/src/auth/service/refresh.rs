use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::delta;
use crate::audit;
use crate::auth::dto::TokenResponse;
use crate::auth::error::AuthError;
use crate::auth::repo::refresh_tokens::{self, RefreshToken};
use crate::auth::repo::sessions::{self, Session};
use crate::auth::session_state;
use crate::auth::successor::{self, Successor};
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, dto::UserDto};

/// Rotates a refresh token. A token presented again within `REFRESH_REUSE_GRACE_SECS` of its
/// first use (a retry after a lost response, or two requests racing) gets the pair that first
/// use issued, sent again, so the session keeps one chain; later, it is treated as stolen and
/// the whole session is revoked.
#[tracing::instrument(skip_all)]
pub async fn refresh(app: &AppState, presented: &str) -> Result<TokenResponse, AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let token = refresh_tokens::find_by_hash(&txn, &secrets::hash_token(presented))
        .await?
        .ok_or(AuthError::InvalidRefreshToken)?;
    let session = sessions::find(&txn, token.session_id)
        .await?
        .filter(|s| sessions::is_live(s, now))
        .ok_or(AuthError::InvalidRefreshToken)?;
    if token.expires_at <= now {
        return Err(AuthError::InvalidRefreshToken);
    }
    let user = users::service::find(&txn, session.user_id)
        .await?
        .ok_or(AuthError::InvalidRefreshToken)?;

    let spent = if token.used_at.is_none() {
        // The successor is sealed before the token is marked used, so that both are written by
        // one statement: no request can ever see the token spent without its successor.
        let (access_token, access_expires_at) =
            app.jwt
                .issue_expiring(user.id, session.id, user.role.as_str())?;
        let next = Successor {
            refresh_token: secrets::random_token(),
            access_token,
            access_expires_at,
        };
        let sealed = successor::seal(&app.refresh_seal, token.id, &next)?;
        if refresh_tokens::mark_used(&txn, token.id, now, sealed).await? {
            let expires_at = now + delta(app.config.auth.refresh_token_ttl);
            let hash = secrets::hash_token(&next.refresh_token);
            refresh_tokens::insert(&txn, session.id, hash, now, expires_at).await?;
            sessions::touch(&txn, session.id, now, expires_at).await?;
            txn.commit().await?;
            return Ok(issued(app, user, next, now));
        }
        // A concurrent refresh won: read the row again for the pair it stored.
        refresh_tokens::find(&txn, token.id)
            .await?
            .ok_or(AuthError::InvalidRefreshToken)?
    } else {
        token
    };
    reuse(app, txn, spent, &session, user, now).await
}

/// A spent token presented again: inside the grace window its successor is sent again,
/// after it the session is revoked.
async fn reuse(
    app: &AppState,
    txn: DatabaseTransaction,
    spent: RefreshToken,
    session: &Session,
    user: entity::user::Model,
    now: DateTime<Utc>,
) -> Result<TokenResponse, AuthError> {
    let used_at = spent.used_at.unwrap_or(now);
    if now - used_at > delta(app.config.auth.refresh_reuse_grace) {
        let revoked = sessions::revoke(
            &txn,
            session.user_id,
            sessions::Revoke::One(session.id),
            now,
        )
        .await?;
        txn.commit().await?;
        session_state::forget(app, &revoked).await;
        audit!("refresh_token.reuse", user_id = %session.user_id, session_id = %session.id);
        return Err(AuthError::TokenReused);
    }
    drop(txn);
    let Some(next) = spent
        .successor
        .as_deref()
        .and_then(|sealed| successor::open(&app.refresh_seal, spent.id, sealed))
    else {
        // Spent by a server that stored no successor (before the migration that added it), or
        // sealed under another JWT_SECRET. Minting another pair would fork the session: the
        // client logs in again instead.
        tracing::warn!(session_id = %session.id, "refresh token reused without a stored successor");
        return Err(AuthError::InvalidRefreshToken);
    };
    audit!("refresh_token.grace_reuse", user_id = %user.id, session_id = %session.id);
    Ok(issued(app, user, next, now))
}

fn issued(
    app: &AppState,
    user: entity::user::Model,
    pair: Successor,
    now: DateTime<Utc>,
) -> TokenResponse {
    let left = pair
        .access_expires_at
        .saturating_sub(now.timestamp())
        .max(0);
    TokenResponse {
        user: UserDto::from(user),
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        token_type: "Bearer".to_owned(),
        // A pair sent again has less time left than a fresh one.
        expires_in: u64::try_from(left)
            .unwrap_or_default()
            .min(app.jwt.ttl().as_secs()),
    }
}
