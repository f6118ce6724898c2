//! The queries behind `Idempotency-Key`: claims, completed responses and the bytes each scope
//! holds. A scope's stored responses are capped (`IDEMPOTENCY_MAX_BYTES_PER_USER`): completing
//! one over the cap drops that scope's oldest stored responses first.

use chrono::{DateTime, Utc};
use entity::{idempotency_key, idempotency_usage};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

pub use idempotency_key::Model as KeyRow;

pub use idempotency_key::KeyState;

/// The row as long as the claim `(scope, key, request_hash, locked_until)` still holds it: if
/// the lease ran out and another request took the key over, that request's claim differs.
pub fn held(scope: &str, key: &str, request_hash: &str, locked_until: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(idempotency_key::Column::Scope.eq(scope))
        .add(idempotency_key::Column::Key.eq(key))
        .add(idempotency_key::Column::State.eq(KeyState::InProgress))
        .add(idempotency_key::Column::RequestHash.eq(request_hash))
        .add(idempotency_key::Column::LockedUntil.eq(locked_until))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    scope: &str,
    key: &str,
) -> Result<Option<KeyRow>, DbErr> {
    idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned()))
        .one(conn)
        .await
}

pub struct NewClaim<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub now: DateTime<Utc>,
    pub locked_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_claim(conn: &impl ConnectionTrait, claim: NewClaim<'_>) -> Result<(), DbErr> {
    idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        scope: Set(claim.scope.to_owned()),
        key: Set(claim.key.to_owned()),
        request_hash: Set(claim.request_hash.to_owned()),
        state: Set(KeyState::InProgress),
        response_status: Set(None),
        response_body: Set(None),
        response_headers: Set(None),
        response_bytes: Set(0),
        locked_until: Set(claim.locked_until),
        created_at: Set(claim.now),
        expires_at: Set(claim.expires_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// What a completed request leaves for its replays.
pub struct StoredResponse {
    pub status: u16,
    pub sealed_body: String,
    pub headers: serde_json::Value,
}

impl StoredResponse {
    fn bytes(&self) -> i64 {
        i64::try_from(self.sealed_body.len() + self.headers.to_string().len()).unwrap_or(i64::MAX)
    }
}

/// Stores the response on the claimed row, then keeps the scope under `cap` bytes by dropping
/// its oldest other stored responses. False when the claim no longer holds the row.
pub async fn complete(
    conn: &impl ConnectionTrait,
    claimed: Condition,
    scope: &str,
    key: &str,
    response: StoredResponse,
    cap: u64,
) -> Result<bool, DbErr> {
    let bytes = response.bytes();
    let result = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::State,
            Expr::value(KeyState::Completed),
        )
        .col_expr(
            idempotency_key::Column::ResponseStatus,
            Expr::value(i32::from(response.status)),
        )
        .col_expr(
            idempotency_key::Column::ResponseBody,
            Expr::value(response.sealed_body),
        )
        .col_expr(
            idempotency_key::Column::ResponseHeaders,
            Expr::value(response.headers),
        )
        .col_expr(idempotency_key::Column::ResponseBytes, Expr::value(bytes))
        .filter(claimed)
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    let stored = add_usage(conn, scope, bytes).await?;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    if stored > cap {
        drop_oldest(conn, scope, key, stored - cap).await?;
    }
    Ok(true)
}

/// Adds `bytes` to the scope's total and returns the new total. The row lock this takes on
/// PostgreSQL also orders concurrent completions of one scope.
async fn add_usage(conn: &impl ConnectionTrait, scope: &str, bytes: i64) -> Result<i64, DbErr> {
    idempotency_usage::Entity::insert(idempotency_usage::ActiveModel {
        scope: Set(scope.to_owned()),
        stored_bytes: Set(bytes),
    })
    .on_conflict(
        OnConflict::column(idempotency_usage::Column::Scope)
            .value(
                idempotency_usage::Column::StoredBytes,
                Expr::col((
                    idempotency_usage::Entity,
                    idempotency_usage::Column::StoredBytes,
                ))
                .add(bytes),
            )
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(idempotency_usage::Entity::find_by_id(scope.to_owned())
        .one(conn)
        .await?
        .map_or(bytes, |u| u.stored_bytes))
}

/// Deletes the scope's oldest completed responses (never `keep`) until `excess` bytes are free.
async fn drop_oldest(
    conn: &impl ConnectionTrait,
    scope: &str,
    keep: &str,
    excess: i64,
) -> Result<(), DbErr> {
    let mut freed = 0;
    while freed < excess {
        let oldest: Vec<(String, i64)> = idempotency_key::Entity::find()
            .select_only()
            .column(idempotency_key::Column::Key)
            .column(idempotency_key::Column::ResponseBytes)
            .filter(idempotency_key::Column::Scope.eq(scope))
            .filter(idempotency_key::Column::State.eq(KeyState::Completed))
            .filter(idempotency_key::Column::Key.ne(keep))
            .order_by_asc(idempotency_key::Column::CreatedAt)
            .order_by_asc(idempotency_key::Column::Key)
            .limit(32)
            .into_tuple()
            .all(conn)
            .await?;
        if oldest.is_empty() {
            break;
        }
        for (key, bytes) in oldest {
            if freed >= excess {
                break;
            }
            delete(conn, scope, &key).await?;
            freed += bytes;
        }
    }
    Ok(())
}

/// Deletes one row, taking its bytes off the scope's total.
pub async fn delete(conn: &impl ConnectionTrait, scope: &str, key: &str) -> Result<(), DbErr> {
    let Some(row) = find(conn, scope, key).await? else {
        return Ok(());
    };
    idempotency_key::Entity::delete_by_id((scope.to_owned(), key.to_owned()))
        .exec(conn)
        .await?;
    if row.response_bytes != 0 {
        add_usage(conn, scope, -row.response_bytes).await?;
    }
    Ok(())
}

/// Deletes the row of a claim that failed (it holds no response, so no bytes).
pub async fn release(conn: &impl ConnectionTrait, claimed: Condition) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(claimed)
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete_scope(conn: &impl ConnectionTrait, scope: &str) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Scope.eq(scope))
        .exec(conn)
        .await?;
    idempotency_usage::Entity::delete_by_id(scope.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes expired keys, then recounts every scope's bytes from what is left (which also
/// repairs any drift).
pub async fn purge_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?;
    conn.execute_raw(crate::platform::db::statement(
        conn,
        "UPDATE idempotency_usage SET stored_bytes = COALESCE((SELECT SUM(k.response_bytes) \
         FROM idempotency_keys k WHERE k.scope = idempotency_usage.scope), 0)",
        [],
    ))
    .await?;
    idempotency_usage::Entity::delete_many()
        .filter(idempotency_usage::Column::StoredBytes.lte(0))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Bytes the scope's stored responses hold.
pub async fn stored_bytes(conn: &impl ConnectionTrait, scope: &str) -> Result<i64, DbErr> {
    Ok(idempotency_usage::Entity::find_by_id(scope.to_owned())
        .one(conn)
        .await?
        .map_or(0, |u| u.stored_bytes))
}
