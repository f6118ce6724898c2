use entity::{SessionId, UserId};

use crate::audit;
use crate::auth::dto::{SessionDto, SessionList};
use crate::auth::error::AuthError;
use crate::auth::repo::sessions;
use crate::auth::session_state;
use crate::platform::{clock, db};
use crate::state::AppState;

pub async fn list(
    app: &AppState,
    user_id: UserId,
    current: SessionId,
) -> Result<SessionList, AuthError> {
    let items = sessions::list_live(&*app.db, user_id, clock::now())
        .await?
        .into_iter()
        .map(|s| SessionDto {
            current: s.id == current,
            id: s.id.into(),
            device_name: s.device_name,
            platform: s.platform,
            app_version: s.app_version,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        })
        .collect();
    Ok(SessionList { items })
}

/// Revokes one of the caller's own live sessions; any other id is a 404.
#[tracing::instrument(skip_all, fields(user.id = %user_id, session.id = %session_id))]
pub async fn revoke(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
) -> Result<(), AuthError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let live = sessions::find(&txn, session_id)
        .await?
        .filter(|s| s.user_id == user_id && sessions::is_live(s, now));
    if live.is_none() {
        return Err(AuthError::SessionNotFound);
    }
    let revoked = sessions::revoke(&txn, user_id, sessions::Revoke::One(session_id), now).await?;
    txn.commit().await?;
    session_state::forget(app, &revoked).await;
    audit!("session.revoked", user_id = %user_id, session_id = %session_id);
    Ok(())
}
