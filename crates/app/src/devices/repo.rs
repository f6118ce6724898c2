//! Queries on `devices`.

use chrono::{DateTime, Utc};
use entity::device::{self, Platform};
use entity::{DeviceId, SessionId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub use device::Model as Device;

pub struct NewDevice {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub platform: Platform,
    pub token: String,
    pub token_key: String,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    new: NewDevice,
    now: DateTime<Utc>,
) -> Result<Device, DbErr> {
    let device = Device {
        id: DeviceId::new(),
        user_id: new.user_id,
        session_id: new.session_id,
        platform: new.platform,
        token: new.token,
        token_key: new.token_key,
        created_at: now,
        updated_at: now,
    };
    device::Entity::insert(device::ActiveModel {
        id: Set(device.id),
        user_id: Set(device.user_id),
        session_id: Set(device.session_id),
        platform: Set(device.platform),
        token: Set(device.token.clone()),
        token_key: Set(device.token_key.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(device)
}

pub async fn find_by_key(
    conn: &impl ConnectionTrait,
    token_key: &str,
) -> Result<Option<Device>, DbErr> {
    device::Entity::find()
        .filter(device::Column::TokenKey.eq(token_key))
        .one(conn)
        .await
}

pub async fn find(conn: &impl ConnectionTrait, id: DeviceId) -> Result<Option<Device>, DbErr> {
    device::Entity::find_by_id(id).one(conn).await
}

/// The same device registered again by its user: bound to the current session, with the
/// token as now given (a browser's keys may have changed).
pub async fn rebind(
    conn: &impl ConnectionTrait,
    id: DeviceId,
    session_id: SessionId,
    platform: Platform,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    device::Entity::update_many()
        .col_expr(device::Column::SessionId, Expr::value(session_id))
        .col_expr(device::Column::Platform, Expr::value(platform))
        .col_expr(device::Column::Token, Expr::value(token))
        .col_expr(device::Column::UpdatedAt, Expr::value(now))
        .filter(device::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A user's devices, oldest first.
pub async fn of_user(conn: &impl ConnectionTrait, user_id: UserId) -> Result<Vec<Device>, DbErr> {
    device::Entity::find()
        .filter(device::Column::UserId.eq(user_id))
        .order_by_asc(device::Column::CreatedAt)
        .order_by_asc(device::Column::Id)
        .all(conn)
        .await
}

pub async fn delete(conn: &impl ConnectionTrait, id: DeviceId) -> Result<bool, DbErr> {
    let result = device::Entity::delete_by_id(id).exec(conn).await?;
    Ok(result.rows_affected > 0)
}

pub async fn delete_owned(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    id: DeviceId,
) -> Result<bool, DbErr> {
    let result = device::Entity::delete_many()
        .filter(device::Column::Id.eq(id))
        .filter(device::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Deletes the device only while it still has this token: a device re-registered since the
/// provider's answer (a new browser subscription) stays.
pub async fn delete_with_token(
    conn: &impl ConnectionTrait,
    id: DeviceId,
    token: &str,
) -> Result<bool, DbErr> {
    let result = device::Entity::delete_many()
        .filter(device::Column::Id.eq(id))
        .filter(device::Column::Token.eq(token))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn delete_of_sessions(
    conn: &impl ConnectionTrait,
    sessions: &[SessionId],
) -> Result<u64, DbErr> {
    if sessions.is_empty() {
        return Ok(0);
    }
    let result = device::Entity::delete_many()
        .filter(device::Column::SessionId.is_in(sessions.iter().copied()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Keeps a user's newest `keep` devices (by last registration) and deletes the rest.
pub async fn trim(conn: &impl ConnectionTrait, user_id: UserId, keep: usize) -> Result<u64, DbErr> {
    let mut devices = of_user(conn, user_id).await?;
    if devices.len() <= keep {
        return Ok(0);
    }
    devices.sort_by_key(|d| std::cmp::Reverse((d.updated_at, d.id)));
    let old: Vec<DeviceId> = devices.into_iter().skip(keep).map(|d| d.id).collect();
    let result = device::Entity::delete_many()
        .filter(device::Column::Id.is_in(old))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
