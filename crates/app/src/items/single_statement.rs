//! A create without an `Idempotency-Key` in one round trip to the database. The owner's
//! sequence and count, the item and its `data:created` event are written with the same
//! guarantees as `service::create_in` (atomic, the owner row locked until commit so delta sync
//! follows commit order, the quota enforced under that lock):
//! - PostgreSQL: one autocommit statement of data-modifying CTEs, instead of a transaction's
//!   five network round trips;
//! - SQLite, which has no data-modifying CTEs: four statements sent together, inside the
//!   caller's transaction, each writing only if the one before did (`changes()`). Every
//!   statement sent apart is a round trip to the connection's thread.

use chrono::{DateTime, Utc};
use entity::EventId;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Value as SqlValue};

use super::events::ItemCreated;
use super::repo::{Item, NewItem};
use crate::platform::db::statement;
use crate::platform::jobs::event::Event as _;

const CREATE_POSTGRES: &str = "\
WITH owner AS (
    INSERT INTO item_owners (owner_id, last_seq, live_count, purged_seq) VALUES ($1, 1, 1, 0)
    ON CONFLICT (owner_id) DO UPDATE
        SET last_seq = item_owners.last_seq + 1, live_count = item_owners.live_count + 1
        WHERE item_owners.live_count < $2
    RETURNING last_seq
), item AS (
    INSERT INTO items (id, owner_id, name, description, data, version, change_seq, created_at,
                       updated_at, deleted_at)
    SELECT $3, $1, $4, $5, $6, 1, last_seq, $7, $7, NULL FROM owner
    RETURNING change_seq
), event AS (
    INSERT INTO outbox_events (id, event_type, payload, created_at, available_at, attempts,
                               processed_at, last_error)
    SELECT $8, $9, $10, $7, $7, 0, NULL, NULL FROM item
)
SELECT change_seq FROM item";

const CREATE_SQLITE: &str = "\
INSERT INTO item_owners (owner_id, last_seq, live_count, purged_seq) VALUES ($1, 1, 1, 0)
    ON CONFLICT (owner_id) DO UPDATE
    SET last_seq = item_owners.last_seq + 1, live_count = item_owners.live_count + 1
    WHERE item_owners.live_count < $2;
INSERT INTO items (id, owner_id, name, description, data, version, change_seq, created_at,
                   updated_at, deleted_at)
    SELECT $3, $1, $4, $5, $6, 1, last_seq, $7, $7, NULL FROM item_owners
    WHERE owner_id = $1 AND changes() = 1;
INSERT INTO outbox_events (id, event_type, payload, created_at, available_at, attempts,
                           processed_at, last_error)
    SELECT $8, $9, $10, $7, $7, 0, NULL, NULL WHERE changes() = 1;
SELECT change_seq FROM items WHERE id = $3";

/// Creates the item, or returns `None` when the owner already has `limit` live items (and
/// nothing was written). On SQLite, call it inside a write transaction (`db::begin_write`).
pub async fn create(
    conn: &impl ConnectionTrait,
    new: NewItem,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Option<Item>, DbErr> {
    let event = serde_json::to_value(ItemCreated { data_id: new.id })
        .map_err(|e| DbErr::Json(e.to_string()))?;
    let values: [SqlValue; 10] = [
        uuid::Uuid::from(new.owner).into(),
        i64::try_from(limit).unwrap_or(i64::MAX).into(),
        uuid::Uuid::from(new.id).into(),
        new.name.clone().into(),
        new.description.clone().into(),
        SqlValue::Json(new.data.clone().map(Box::new)),
        now.into(),
        uuid::Uuid::from(EventId::new()).into(),
        ItemCreated::NAME.into(),
        SqlValue::Json(Some(Box::new(event))),
    ];
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Sqlite => CREATE_SQLITE,
        _ => CREATE_POSTGRES,
    };
    // All rows, so that SQLite runs every statement: the last one's row is the item's.
    let Some(row) = conn
        .query_all_raw(statement(conn, sql, values))
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let seq = row.try_get("", "change_seq")?;
    Ok(Some(NewItem { seq, ..new }.stored(now)))
}
