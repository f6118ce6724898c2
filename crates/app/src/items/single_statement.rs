//! PostgreSQL: a create without an `Idempotency-Key` in one statement. The owner's sequence and
//! count, the item and its `data:created` event are written by data-modifying CTEs of a single
//! autocommit statement: one round trip instead of a transaction's five, with the same
//! guarantees (atomic, the owner row locked until commit so delta sync follows commit order,
//! the quota enforced under that lock). SQLite has no data-modifying CTEs, and its round trips
//! stay in process; it takes the transaction (`service::create_in`).

use chrono::{DateTime, Utc};
use entity::EventId;
use sea_orm::{ConnectionTrait, DbErr, Value as SqlValue};

use super::events::ItemCreated;
use super::repo::{Item, NewItem};
use crate::platform::db::statement;
use crate::platform::jobs::event::Event as _;

const CREATE: &str = "\
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

/// Creates the item, or returns `None` when the owner already has `limit` live items (and
/// nothing was written).
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
    let Some(row) = conn.query_one_raw(statement(conn, CREATE, values)).await? else {
        return Ok(None);
    };
    let seq = row.try_get("", "change_seq")?;
    Ok(Some(NewItem { seq, ..new }.stored(now)))
}
