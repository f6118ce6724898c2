//! The transactional outbox: events are stored in the same transaction as the change that
//! raised them; the relay (`runner.rs`) moves each into its job queue exactly once, in one
//! transaction with marking it delivered (`processed_at`).

use chrono::{DateTime, Utc};
use entity::EventId;
use entity::outbox_event;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::event::Event;
use crate::platform::clock;

pub use outbox_event::Model as OutboxEvent;

/// Stores an event; call it with the transaction that makes the change.
pub async fn enqueue<E: Event>(conn: &impl ConnectionTrait, event: &E) -> Result<(), DbErr> {
    enqueue_all(conn, std::slice::from_ref(event)).await
}

/// Stores events of one type in one statement, in order; call it with the transaction that
/// makes the change.
pub async fn enqueue_all<E: Event>(conn: &impl ConnectionTrait, events: &[E]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let now = clock::now();
    let rows = events
        .iter()
        .map(|event| {
            let payload = serde_json::to_value(event).map_err(|e| DbErr::Json(e.to_string()))?;
            Ok(outbox_event::ActiveModel {
                id: Set(EventId::new()),
                event_type: Set(E::NAME.to_owned()),
                payload: Set(payload),
                created_at: Set(now),
                available_at: Set(now),
                attempts: Set(0),
                processed_at: Set(None),
                last_error: Set(None),
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    outbox_event::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Deletes events processed before `before`.
pub async fn purge_processed(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = outbox_event::Entity::delete_many()
        .filter(outbox_event::Column::ProcessedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
