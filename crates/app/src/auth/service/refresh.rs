use super::{delta, token_response};
use crate::app::AppState;
use crate::audit;
use crate::auth::dto::TokenResponse;
use crate::auth::error::AuthError;
use crate::auth::repo::{refresh_tokens, sessions};
use crate::auth::{session_state, tokens};
use crate::platform::{clock, db};
use crate::users;

/// Rotates a refresh token. A token presented again within `REFRESH_REUSE_GRACE_SECS` of its
/// first use (a retry after a lost response, or two requests racing) gets another valid pair
/// for the same session; later, it is treated as stolen and the whole session is revoked.
#[tracing::instrument(skip_all)]
pub async fn refresh(app: &AppState, presented: &str) -> Result<TokenResponse, AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let token = refresh_tokens::find_by_hash(&txn, &tokens::hash_token(presented))
        .await?
        .ok_or(AuthError::InvalidRefreshToken)?;
    let session = sessions::find(&txn, token.session_id)
        .await?
        .filter(|s| sessions::is_live(s, now))
        .ok_or(AuthError::InvalidRefreshToken)?;
    if token.expires_at <= now {
        return Err(AuthError::InvalidRefreshToken);
    }

    let first_use =
        token.used_at.is_none() && refresh_tokens::mark_used(&txn, token.id, now).await?;
    if !first_use {
        // Used before, or by a concurrent request that just won the race (then: now).
        let used_at = token.used_at.unwrap_or(now);
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
    }

    let user = users::service::find(&txn, session.user_id)
        .await?
        .ok_or(AuthError::InvalidRefreshToken)?;
    let expires_at = now + delta(app.config.auth.refresh_token_ttl);
    let next = tokens::random_token();
    refresh_tokens::insert(&txn, session.id, tokens::hash_token(&next), now, expires_at).await?;
    sessions::touch(&txn, session.id, now, expires_at).await?;
    txn.commit().await?;
    if !first_use {
        audit!("refresh_token.grace_reuse", user_id = %user.id, session_id = %session.id);
    }
    token_response(app, user, session.id, next)
}
