//! Queries on `notifications`.

use chrono::{DateTime, Utc};
use entity::notification;
use entity::{NotificationId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

pub use notification::Model as Notification;

pub async fn insert(conn: &impl ConnectionTrait, n: &Notification) -> Result<(), DbErr> {
    notification::Entity::insert(notification::ActiveModel {
        id: Set(n.id),
        user_id: Set(n.user_id),
        title: Set(n.title.clone()),
        body: Set(n.body.clone()),
        data: Set(n.data.clone()),
        read_at: Set(n.read_at),
        pushed_at: Set(n.pushed_at),
        created_at: Set(n.created_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: NotificationId,
) -> Result<Option<Notification>, DbErr> {
    notification::Entity::find_by_id(id).one(conn).await
}

fn of_user(user_id: UserId, unread_only: bool) -> Select<notification::Entity> {
    let select = notification::Entity::find().filter(notification::Column::UserId.eq(user_id));
    if unread_only {
        select.filter(notification::Column::ReadAt.is_null())
    } else {
        select
    }
}

/// One page, newest first, after `after` (keyset) or from `offset`.
pub async fn list(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    unread_only: bool,
    after: Option<(DateTime<Utc>, NotificationId)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Notification>, DbErr> {
    let mut select = of_user(user_id, unread_only);
    if let Some((at, id)) = after {
        let position = Expr::tuple([
            Expr::col(notification::Column::CreatedAt),
            Expr::col(notification::Column::Id),
        ]);
        select = select.filter(position.lt(Expr::tuple([Expr::value(at), Expr::value(id)])));
    }
    select
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    unread_only: bool,
) -> Result<u64, DbErr> {
    of_user(user_id, unread_only).count(conn).await
}

pub async fn all_of_user(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<Notification>, DbErr> {
    of_user(user_id, false)
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .all(conn)
        .await
}

/// Marks one of the user's notifications read (if it is not already); whether it is theirs.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    let owned = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user_id))
        .count(conn)
        .await?;
    Ok(owned > 0)
}

pub async fn mark_all_read(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Claims the fan-out of a notification: true the first time only.
pub async fn mark_pushed(
    conn: &impl ConnectionTrait,
    id: NotificationId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::PushedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::PushedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}
