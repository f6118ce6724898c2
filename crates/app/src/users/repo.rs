//! Queries on the `users` table.

use chrono::{DateTime, Utc};
use entity::user;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

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
        id: Set(Uuid::now_v7()),
        email: Set(new.email.as_str().to_owned()),
        name: Set(new.name),
        password_hash: Set(new.password_hash),
        role: Set(new.role.as_str().to_owned()),
        email_verified: Set(new.email_verified),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
}

pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    id: Uuid,
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
    id: Uuid,
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
    id: Uuid,
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
    id: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(role.as_str()))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<u64, DbErr> {
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
    let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
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

/// Escapes `%`, `_` and the escape character itself, so user input matches literally.
pub fn escape_like(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
    after: Option<(DateTime<Utc>, Uuid)>,
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
