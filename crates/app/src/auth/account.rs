//! What other features ask of auth when an account changes: ending its sessions, voiding the
//! links mailed to it, and purging what auth keeps once it has expired. Every function takes
//! the caller's transaction, so the change and its consequences commit together.

use chrono::{DateTime, TimeDelta, Utc};
use entity::{SessionId, UserId};
use sea_orm::{ConnectionTrait, DbErr};

use super::repo::user_tokens::{self, TokenKind};
use super::repo::{sessions, throttle};
use super::{revocation, session_state};
use crate::state::AppState;

/// Sessions a transaction ended. Once it has committed, [`Revoked::forget`] drops them from the
/// cache (before that, a concurrent request could cache them as live again).
#[must_use = "forget the revoked sessions once the transaction has committed"]
#[derive(Debug, Default)]
pub struct Revoked(Vec<SessionId>);

impl Revoked {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub async fn forget(self, app: &AppState) {
        session_state::forget(app, &self.0).await;
    }
}

/// Ends every session of `user_id` but `keep` (the one making a sensitive change).
pub async fn end_other_sessions(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    keep: SessionId,
    now: DateTime<Utc>,
) -> Result<Revoked, DbErr> {
    let ids = sessions::revoke(conn, user_id, sessions::Revoke::AllExcept(keep), now).await?;
    Ok(Revoked(ids))
}

/// Whether the session is live, holding its row until the caller's transaction ends (so that
/// ending it waits): what binds a push device to a session.
pub async fn hold_live_session(
    conn: &impl ConnectionTrait,
    session_id: SessionId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    sessions::hold_live(conn, session_id, now).await
}

/// The sessions of an account about to be deleted (their rows go with it, `ON DELETE
/// CASCADE`); announced to every instance with the deletion.
pub async fn end_sessions_of_deleted_account(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Revoked, DbErr> {
    let ids: Vec<SessionId> = sessions::all_of_user(conn, user_id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    revocation::announce(conn, &ids).await?;
    Ok(Revoked(ids))
}

/// Uses up every reset and verification link mailed to the account: after an email change
/// they point at an address that is no longer its own.
pub async fn void_emailed_links(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for kind in [TokenKind::EmailVerification, TokenKind::PasswordReset] {
        user_tokens::consume_all(conn, user_id, kind, now).await?;
    }
    Ok(())
}

/// How long ended sessions and spent tokens are kept (for the session list and audits).
const KEEP_ENDED: TimeDelta = TimeDelta::days(7);

/// What was purged, by kind.
#[derive(Debug, Default)]
pub struct Purged {
    pub sessions: u64,
    pub tokens: u64,
    pub throttles: u64,
}

/// Deletes ended sessions and spent tokens a week after they ended, and failed-login counters
/// a day after their last failure (unless they still hold a lock).
pub async fn purge_expired(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Purged, DbErr> {
    Ok(Purged {
        sessions: sessions::purge_ended(conn, now - KEEP_ENDED).await?,
        tokens: user_tokens::purge_spent(conn, now - KEEP_ENDED).await?,
        throttles: throttle::purge_stale(conn, now - TimeDelta::days(1)).await?,
    })
}
