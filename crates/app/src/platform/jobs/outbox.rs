//! The transactional outbox: events are stored in the same transaction as the change that
//! raised them, then delivered at least once by the relay (`platform::worker`).

use chrono::{DateTime, Utc};
use entity::EventId;
use entity::outbox_event;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::event::Event;
use crate::platform::clock;

pub use outbox_event::Model as OutboxEvent;

/// Stores an event; call it with the transaction that makes the change.
pub async fn enqueue<E: Event>(conn: &impl ConnectionTrait, event: &E) -> Result<(), DbErr> {
    let payload = serde_json::to_value(event).map_err(|e| DbErr::Json(e.to_string()))?;
    let now = clock::now();
    outbox_event::Entity::insert(outbox_event::ActiveModel {
        id: Set(EventId::new()),
        event_type: Set(E::NAME.to_owned()),
        payload: Set(payload),
        created_at: Set(now),
        available_at: Set(now),
        attempts: Set(0),
        processed_at: Set(None),
        last_error: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Leases up to `limit` due events of the given types until `lease_until`. Concurrent relays on
/// PostgreSQL skip each other's rows (`FOR UPDATE SKIP LOCKED`); SQLite has one writer anyway.
pub async fn claim(
    conn: &impl ConnectionTrait,
    event_types: &[&str],
    limit: u64,
    lease_until: DateTime<Utc>,
) -> Result<Vec<OutboxEvent>, DbErr> {
    let now = clock::now();
    let due = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Id)
        .filter(outbox_event::Column::ProcessedAt.is_null())
        .filter(outbox_event::Column::AvailableAt.lte(now))
        .filter(outbox_event::Column::EventType.is_in(event_types.iter().copied()))
        .order_by_asc(outbox_event::Column::AvailableAt)
        .order_by_asc(outbox_event::Column::CreatedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::AvailableAt, Expr::value(lease_until))
        .col_expr(
            outbox_event::Column::Attempts,
            Expr::col(outbox_event::Column::Attempts).add(1),
        )
        .filter(outbox_event::Column::Id.in_subquery(due))
        .exec_with_returning(conn)
        .await
}

pub async fn mark_processed(conn: &impl ConnectionTrait, id: EventId) -> Result<(), DbErr> {
    outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::ProcessedAt, Expr::value(clock::now()))
        .col_expr(
            outbox_event::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox_event::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt; `retry_at` of `None` gives up (the event stays, with its error).
/// `attempts_back` gives back attempts that were not really spent (a deferred delivery).
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    id: EventId,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    attempts_back: i32,
) -> Result<(), DbErr> {
    let mut update = outbox_event::Entity::update_many()
        .col_expr(
            outbox_event::Column::LastError,
            Expr::value(error.to_owned()),
        )
        .col_expr(
            outbox_event::Column::Attempts,
            Expr::col(outbox_event::Column::Attempts).sub(attempts_back),
        );
    update = match retry_at {
        Some(at) => update.col_expr(outbox_event::Column::AvailableAt, Expr::value(at)),
        None => update.col_expr(outbox_event::Column::ProcessedAt, Expr::value(clock::now())),
    };
    update
        .filter(outbox_event::Column::Id.eq(id))
        .exec(conn)
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
