use chrono::{DateTime, Utc};
use entity::refresh_token;
use entity::{RefreshTokenId, SessionId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub use refresh_token::Model as RefreshToken;

pub async fn insert(
    conn: &impl ConnectionTrait,
    session_id: SessionId,
    token_hash: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(RefreshTokenId::new()),
        session_id: Set(session_id),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        successor: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn find_by_hash(
    conn: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshToken>, DbErr> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(conn)
        .await
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: RefreshTokenId,
) -> Result<Option<RefreshToken>, DbErr> {
    refresh_token::Entity::find_by_id(id).one(conn).await
}

/// Marks a token used and stores the (sealed) pair that replaces it, in one statement; false
/// when another request used it first (the caller lost the race). On PostgreSQL a loser waits
/// here for the winner's transaction to end, so a read after this sees the winner's pair.
pub async fn mark_used(
    conn: &impl ConnectionTrait,
    id: RefreshTokenId,
    now: DateTime<Utc>,
    sealed_successor: String,
) -> Result<bool, DbErr> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .col_expr(
            refresh_token::Column::Successor,
            Expr::value(sealed_successor),
        )
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
