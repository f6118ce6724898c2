//! Revocations reach every instance, also without Redis.
//!
//! Each instance caches session liveness in its own memory when there is no Redis. On
//! PostgreSQL every revocation is therefore published on a LISTEN/NOTIFY channel by the
//! transaction that makes it (`announce`), so it is delivered exactly when that transaction
//! commits, and never for one that rolls back. A listener per instance (`listener`) drops the
//! announced sessions from the local cache. While the listener is not subscribed, the local
//! cache is not trusted at all (`CacheTrust`): liveness is read from the database.

pub mod listener;

use entity::SessionId;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr};
use uuid::Uuid;

use crate::platform::db;

/// The channel every instance listens on; notifications stay inside one database.
pub const CHANNEL: &str = "aios_session_revoked";
/// Ids per notification: a payload must stay under PostgreSQL's 8000 bytes (33 bytes per id).
const IDS_PER_NOTIFICATION: usize = 200;

/// Tells every instance to forget what it cached about `session_ids`, when the transaction
/// `conn` belongs to commits. Call it in the transaction that revokes or changes them. A no-op
/// on SQLite, where only one process serves.
pub async fn announce(conn: &impl ConnectionTrait, session_ids: &[SessionId]) -> Result<(), DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for chunk in session_ids.chunks(IDS_PER_NOTIFICATION) {
        let payload = encode(chunk);
        let notify = db::statement(
            conn,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        conn.query_one_raw(notify).await?;
    }
    Ok(())
}

fn encode(session_ids: &[SessionId]) -> String {
    let ids: Vec<String> = session_ids
        .iter()
        .map(|id| id.0.simple().to_string())
        .collect();
    ids.join(",")
}

/// The session ids in a payload; anything else in it is skipped.
fn decode(payload: &str) -> Vec<SessionId> {
    payload
        .split(',')
        .filter_map(|id| Uuid::try_parse(id.trim()).ok().map(SessionId))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_fit_a_notification() {
        let ids: Vec<SessionId> = (0..IDS_PER_NOTIFICATION)
            .map(|_| SessionId::new())
            .collect();
        let payload = encode(&ids);
        assert!(payload.len() < 8000, "{} bytes", payload.len());
        assert_eq!(decode(&payload), ids);
        assert_eq!(decode(""), Vec::<SessionId>::new());
        assert_eq!(decode("not-a-uuid,,"), Vec::<SessionId>::new());
    }
}
