//! Queries on the `users` table.

use chrono::{DateTime, Utc};
use entity::UserId;
use entity::{EmailChangeId, email_change, user};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Email, Role};

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub name: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub email_verified: bool,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<user::Model, DbErr> {
    user::ActiveModel {
        id: Set(UserId::new()),
        email: Set(new.email.as_str().to_owned()),
        name: Set(new.name),
        password_hash: Set(new.password_hash),
        role: Set(new.role),
        email_verified: Set(new.email_verified),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
}

pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    id: UserId,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(conn)
        .await
}

pub async fn update(
    conn: &impl ConnectionTrait,
    model: user::ActiveModel,
) -> Result<user::Model, DbErr> {
    model.update(conn).await
}

pub async fn set_password_hash(
    conn: &impl ConnectionTrait,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash.to_owned()))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn mark_email_verified(
    conn: &impl ConnectionTrait,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn set_role(
    conn: &impl ConnectionTrait,
    id: UserId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(role))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &impl ConnectionTrait, id: UserId) -> Result<u64, DbErr> {
    Ok(user::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected)
}

/// `q` matches email or name, case-insensitively, as a literal substring.
fn search_condition(q: Option<&str>) -> Condition {
    let Some(q) = q.filter(|q| !q.is_empty()) else {
        return Condition::all();
    };
    let pattern = format!("%{}%", crate::platform::db::escape_like(&q.to_lowercase()));
    Condition::any()
        .add(
            Expr::col(user::Column::Email)
                .like(sea_orm::sea_query::LikeExpr::new(&pattern).escape('\\')),
        )
        .add(
            Func::lower(Expr::col(user::Column::Name))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        )
}

pub async fn count(conn: &impl ConnectionTrait, q: Option<&str>) -> Result<u64, DbErr> {
    user::Entity::find()
        .filter(search_condition(q))
        .count(conn)
        .await
}

/// Newest first, keyed by (created_at, id) so cursor pages stay stable.
pub async fn list(
    conn: &impl ConnectionTrait,
    q: Option<&str>,
    after: Option<(DateTime<Utc>, UserId)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let mut query = user::Entity::find().filter(search_condition(q));
    if let Some((created_at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(user::Column::CreatedAt.lt(created_at))
                .add(
                    Condition::all()
                        .add(user::Column::CreatedAt.eq(created_at))
                        .add(user::Column::Id.lt(id)),
                ),
        );
    }
    query
        .order_by_desc(user::Column::CreatedAt)
        .order_by_desc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

/// Keeps the address an account had before a change; returns the record's id.
pub async fn record_email_change(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    previous_email: &str,
    now: DateTime<Utc>,
) -> Result<EmailChangeId, DbErr> {
    let id = EmailChangeId::new();
    email_change::Entity::insert(email_change::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        previous_email: Set(previous_email.to_owned()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

pub async fn find_email_change(
    conn: &impl ConnectionTrait,
    id: EmailChangeId,
) -> Result<Option<email_change::Model>, DbErr> {
    email_change::Entity::find_by_id(id).one(conn).await
}

pub async fn purge_email_changes(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = email_change::Entity::delete_many()
        .filter(email_change::Column::CreatedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
