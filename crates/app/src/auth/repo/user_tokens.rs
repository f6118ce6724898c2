//! Single-use tokens sent by email (password reset, email verification), stored hashed.

use chrono::{DateTime, Utc};
use entity::user_token;
use entity::{UserId, UserTokenId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub use entity::user_token::TokenKind;

pub async fn insert(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    kind: TokenKind,
    token_hash: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    user_token::Entity::insert(user_token::ActiveModel {
        id: Set(UserTokenId::new()),
        user_id: Set(user_id),
        kind: Set(kind),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A token that is of `kind`, unused and unexpired.
pub async fn find_valid(
    conn: &impl ConnectionTrait,
    kind: TokenKind,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<user_token::Model>, DbErr> {
    user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(token_hash))
        .filter(user_token::Column::Kind.eq(kind))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .one(conn)
        .await
}

/// Uses a token up; false when a concurrent request used it first.
pub async fn consume(
    conn: &impl ConnectionTrait,
    id: UserTokenId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(now))
        .filter(user_token::Column::Id.eq(id))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Uses up every outstanding token of `kind` for the user (after a reset, older links die).
pub async fn consume_all(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    kind: TokenKind,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(now))
        .filter(user_token::Column::UserId.eq(user_id))
        .filter(user_token::Column::Kind.eq(kind))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn purge_spent(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = user_token::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(user_token::Column::ExpiresAt.lt(before))
                .add(user_token::Column::UsedAt.lt(before)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Makes this transaction the only one issuing `user_id`'s tokens until it ends (an advisory
/// lock on PostgreSQL; SQLite's write transactions run one at a time anyway). Without it two
/// verification links issued at once (two mail jobs) each replace only the links they can see,
/// and both stay valid.
pub async fn lock_issuing(conn: &impl ConnectionTrait, user_id: UserId) -> Result<(), DbErr> {
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        conn.execute_raw(crate::platform::db::statement(
            conn,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("user_tokens:{user_id}").into()],
        ))
        .await?;
    }
    Ok(())
}
