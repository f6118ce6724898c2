use crate::audit;
use crate::auth::error::AuthError;
use crate::auth::repo::{refresh_tokens, sessions};
use crate::auth::session_state;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use entity::{SessionId, UserId};

/// Ends the caller's session (and the one `refresh_token` belongs to, if it is the caller's).
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn logout(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    refresh_token: Option<String>,
) -> Result<(), AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let mut revoked =
        sessions::revoke(&txn, user_id, sessions::Revoke::One(session_id), now).await?;
    if let Some(presented) = refresh_token
        && let Some(token) =
            refresh_tokens::find_by_hash(&txn, &secrets::hash_token(&presented)).await?
    {
        // Scoped to the caller's own sessions by `revoke` itself.
        revoked.extend(
            sessions::revoke(&txn, user_id, sessions::Revoke::One(token.session_id), now).await?,
        );
    }
    txn.commit().await?;
    session_state::forget(app, &revoked).await;
    audit!("logout", user_id = %user_id, sessions = revoked.len());
    Ok(())
}

#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn logout_all(app: &AppState, user_id: UserId) -> Result<(), AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let revoked = sessions::revoke(&txn, user_id, sessions::Revoke::All, now).await?;
    txn.commit().await?;
    session_state::forget(app, &revoked).await;
    audit!("logout.all", user_id = %user_id, sessions = revoked.len());
    Ok(())
}
