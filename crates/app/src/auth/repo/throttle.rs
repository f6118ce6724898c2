//! Consecutive failed logins per email (hashed), with the lock they lead to.

use chrono::{DateTime, Utc};
use entity::login_throttle;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

pub use login_throttle::Model as Throttle;

pub async fn find(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Throttle>, DbErr> {
    login_throttle::Entity::find_by_id(key.to_owned())
        .one(conn)
        .await
}

/// Like [`find`], holding the row until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite
/// write transactions are serialised anyway), so that concurrent failures are judged one after
/// the other.
pub async fn find_for_update(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<Throttle>, DbErr> {
    login_throttle::Entity::find_by_id(key.to_owned())
        .lock_exclusive()
        .one(conn)
        .await
}

/// Counts one more failure and returns the new count.
pub async fn record_failure(
    conn: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<i32, DbErr> {
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(1),
        locked_until: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .value(
                login_throttle::Column::Failures,
                Expr::col((login_throttle::Entity, login_throttle::Column::Failures)).add(1),
            )
            .value(login_throttle::Column::UpdatedAt, Expr::value(now))
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(find(conn, key).await?.map_or(1, |t| t.failures))
}

pub async fn lock_until(
    conn: &impl ConnectionTrait,
    key: &str,
    until: DateTime<Utc>,
) -> Result<(), DbErr> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::LockedUntil, Expr::value(until))
        .filter(login_throttle::Column::Key.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn clear(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets failures that are old and not holding a lock.
pub async fn purge_stale(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::UpdatedAt.lt(before))
        .filter(
            sea_orm::Condition::any()
                .add(login_throttle::Column::LockedUntil.is_null())
                .add(login_throttle::Column::LockedUntil.lt(before)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
