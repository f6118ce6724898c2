//! Delta sync: `GET /api/data/changes?since=`.

use chrono::{TimeDelta, Utc};
use entity::UserId;
use serde::{Deserialize, Serialize};

use super::dto::{Change, ChangeOp, ChangesPage, ChangesQuery, ItemDto};
use super::error::ItemError;
use super::repo;
use crate::platform::clock;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 100;

/// A sync position: whose feed it is, the owner's change sequence number, and when the cursor
/// was handed out. Sequence numbers are per owner, so a cursor is only valid for its owner.
#[derive(Debug, Serialize, Deserialize)]
struct SyncCursor {
    owner: UserId,
    seq: i64,
    issued: i64,
}

#[tracing::instrument(skip_all, fields(user.id = %owner))]
pub async fn changes(
    app: &AppState,
    owner: UserId,
    query: ChangesQuery,
) -> Result<ChangesPage, ItemError> {
    let now = clock::now();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 1000) as u64;
    let state = repo::owner_state(&*app.db, owner).await?;
    // `?since=` with nothing after it is a first sync, like no `since` at all.
    let since = match query
        .since
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => {
            let cursor = app
                .cursors
                .decode::<SyncCursor>(raw)
                .filter(|c| {
                    c.owner == owner
                        && c.seq >= 0
                        && c.seq <= state.as_ref().map_or(0, |s| s.last_seq)
                })
                .ok_or(ItemError::InvalidCursor { path: "since" })?;
            let retention =
                TimeDelta::from_std(app.config.items.sync_retention).unwrap_or(TimeDelta::MAX);
            let issued = chrono::DateTime::<Utc>::from_timestamp(cursor.issued, 0).unwrap_or(now);
            // Tombstones older than the retention period are purged: a client that last
            // synced before then may have missed deletions (the purge mark is checked below).
            if now - issued > retention {
                return Err(ItemError::SyncExpired);
            }
            Some(cursor.seq)
        }
    };
    // A first sync lists live items only; later syncs also report deletions.
    let mut rows = repo::changes_after(
        &*app.db,
        owner,
        since.unwrap_or(0),
        since.is_some(),
        limit + 1,
    )
    .await?;
    if let Some(since) = since {
        // Read after the query, so a purge that commits while it runs is still seen: a
        // cursor from before purged tombstones may have missed deletions.
        let purged = repo::owner_state(&*app.db, owner)
            .await?
            .map_or(0, |s| s.purged_seq);
        if since < purged {
            return Err(ItemError::SyncExpired);
        }
    }
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut position = rows.last().map_or(since.unwrap_or(0), |r| r.change_seq);
    if since.is_none() && !has_more {
        // A complete first sync is current up to the owner's latest change (deletions it
        // skipped included), read before the query so nothing committed since is passed over.
        position = position.max(state.as_ref().map_or(0, |s| s.last_seq));
    }
    let changes = rows
        .into_iter()
        .map(|row| match row.deleted_at {
            Some(deleted_at) => Change {
                id: row.id.into(),
                op: ChangeOp::Delete,
                item: None,
                at: deleted_at,
            },
            None => Change {
                id: row.id.into(),
                op: ChangeOp::Upsert,
                at: row.updated_at,
                item: Some(ItemDto::from(row)),
            },
        })
        .collect();
    Ok(ChangesPage {
        changes,
        cursor: app.cursors.encode(&SyncCursor {
            owner,
            seq: position,
            issued: now.timestamp(),
        }),
        has_more,
    })
}
