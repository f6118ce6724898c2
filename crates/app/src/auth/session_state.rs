//! Is this session still live? Asked on every authenticated request, answered by the shared
//! cache (Redis when configured, so a logout on one instance is seen by all) and the database
//! behind it. Revocations delete the cache entry after their transaction commits; the short
//! TTL bounds staleness if a deletion is ever lost (e.g. during a Redis outage).
//!
//! Without Redis on PostgreSQL, each instance caches in its own memory: revocations are
//! announced to every instance through the database (`auth::revocation`), and the cache is
//! used only while this instance's listener hears them (`CacheTrust`).

use std::time::Duration;

use entity::{SessionId, UserId};
use serde::{Deserialize, Serialize};

use super::repo::sessions;
use crate::platform::{cache, clock};
use crate::state::AppState;
use crate::users::{self, Role};

const TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSession {
    pub user_id: UserId,
    pub role: Role,
    /// `CacheTrust` epoch the entry was cached under (always 0 with Redis, so entries of
    /// servers that do not write it stay valid).
    #[serde(default)]
    pub epoch: u64,
}

fn key(session_id: SessionId) -> String {
    format!("session:{session_id}")
}

/// The live session `session_id` of `user_id`, with the user's current role.
pub async fn lookup(
    app: &AppState,
    session_id: SessionId,
    user_id: UserId,
) -> Result<Option<LiveSession>, sea_orm::DbErr> {
    let key = key(session_id);
    // Read before the database, so that an entry written below carries the epoch that was
    // current before the read: a flush in between makes it stale, never live.
    let epoch = app.session_trust.epoch();
    if let Some(epoch) = epoch
        && let Some(live) = cache::get_json::<LiveSession>(app.cache.as_ref(), &key).await
        && live.epoch == epoch
    {
        return Ok((live.user_id == user_id).then_some(live));
    }
    let Some(session) = sessions::find(&*app.db, session_id).await? else {
        return Ok(None);
    };
    if session.user_id != user_id || !sessions::is_live(&session, clock::now()) {
        return Ok(None);
    }
    let Some(user) = users::service::find(&*app.db, user_id).await? else {
        return Ok(None);
    };
    let live = LiveSession {
        user_id,
        role: user.role,
        epoch: epoch.unwrap_or_default(),
    };
    if epoch.is_none() {
        return Ok(Some(live));
    }
    cache::set_json(app.cache.as_ref(), &key, &live, TTL).await;
    // A revocation that committed (and forgot this key) between the read above and the write
    // just made would leave a stale "live" entry for a whole TTL: look once more, after writing.
    let still_live = sessions::find(&*app.db, session_id)
        .await?
        .is_some_and(|s| sessions::is_live(&s, clock::now()));
    if !still_live {
        forget(app, &[session_id]).await;
        return Ok(None);
    }
    Ok(Some(live))
}

/// Call inside a transaction that changes what this cache holds about a user (the role) rather
/// than ending sessions; returns the sessions to `forget` once it commits.
pub async fn user_changed(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<SessionId>, sea_orm::DbErr> {
    let ids = sessions::unrevoked_ids_of_user(conn, user_id).await?;
    super::revocation::announce(conn, &ids).await?;
    Ok(ids)
}

/// Drops cached liveness of revoked sessions. Call after the revoking transaction commits.
pub async fn forget(app: &AppState, session_ids: &[SessionId]) {
    let keys: Vec<String> = session_ids.iter().copied().map(key).collect();
    app.cache.delete(&keys).await;
}
