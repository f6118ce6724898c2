//! The stack's ceiling for `bench/run`: the least each benchmarked request can cost on axum,
//! tokio and sqlx. Every authenticated route checks the server's own HS256 access token (same
//! secret, issuer and audience) and runs exactly one statement on the server's own migrated
//! database, with the server's durability settings (SQLite: WAL, `synchronous=NORMAL`, the
//! same pool size). What the server adds on top (sessions, rate limits, validation, the change
//! sequence, the outbox, idempotency) is what the ratio in `docs/performance.md` measures.
//!
//! Environment: `PORT`, `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, and `DATABASE_URL`
//! (PostgreSQL) or `DATA_DIR` (the SQLite file `aios.db` in it), `DATABASE_POOL_SIZE` (10).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool it is: the statements are the same text on
/// both databases, but sqlx types them per database.
macro_rules! on_pool {
    ($which:expr, |$pool:ident| $body:expr) => {
        match $which {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

struct Ceiling {
    pool: Pool,
    key: DecodingKey,
    validation: Validation,
    /// Change sequence numbers far above the server's, so the unique (owner, seq) index holds.
    next_seq: AtomicI64,
}

#[derive(Deserialize)]
struct Claims {
    sub: Uuid,
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
    data: Option<Value>,
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: Uuid,
    name: String,
    description: Option<String>,
    data: Option<sqlx::types::Json<Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const BY_ID: &str = "SELECT id, name, description, data, version, created_at, updated_at \
    FROM items WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL";
const NEWEST: &str = "SELECT id, name, description, data, version, created_at, updated_at \
    FROM items WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 20";
const INSERT: &str = "INSERT INTO items (id, owner_id, name, description, data, version, \
    change_seq, created_at, updated_at) VALUES ($1, $2, $3, NULL, $4, 1, $5, $6, $6) \
    RETURNING id, name, description, data, version, created_at, updated_at";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pool_size: u32 = env("DATABASE_POOL_SIZE").map_or(Ok(10), |v| v.parse())?;
    let pool = match env("DATABASE_URL") {
        Some(url) => Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(pool_size)
                .connect(&url)
                .await
                .context("connecting to PostgreSQL")?,
        ),
        None => {
            let dir = env("DATA_DIR").unwrap_or_else(|| "./data".to_owned());
            let options = SqliteConnectOptions::new()
                .filename(std::path::Path::new(&dir).join("aios.db"))
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(pool_size)
                    .connect_with(options)
                    .await
                    .context("opening SQLite (run `aios-server migrate` first)")?,
            )
        }
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[env("JWT_ISSUER").unwrap_or_else(|| "aios-server".to_owned())]);
    validation.set_audience(&[env("JWT_AUDIENCE").unwrap_or_else(|| "aios-app".to_owned())]);
    let secret = env("JWT_SECRET").context("JWT_SECRET is required")?;
    let state = Arc::new(Ceiling {
        pool,
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
        next_seq: AtomicI64::new(1 << 40),
    });
    let app = Router::new()
        .route(
            "/health/live",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/api/data", get(list).post(create))
        .route("/api/data/{id}", get(by_id))
        .with_state(state);
    let port = env("PORT").unwrap_or_else(|| "3100".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

enum Refused {
    Unauthorized,
    NotFound,
    Database(sqlx::Error),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
            Self::Database(err) => {
                (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response()
            }
        }
    }
}

impl From<sqlx::Error> for Refused {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

fn owner(ceiling: &Ceiling, headers: &HeaderMap) -> Result<Uuid, Refused> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refused::Unauthorized)?;
    jsonwebtoken::decode::<Claims>(token, &ceiling.key, &ceiling.validation)
        .map(|data| data.claims.sub)
        .map_err(|_| Refused::Unauthorized)
}

async fn by_id(
    State(ceiling): State<Arc<Ceiling>>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<Item>, Refused> {
    let owner = owner(&ceiling, &headers)?;
    let item = on_pool!(&ceiling.pool, |pool| {
        sqlx::query_as(BY_ID)
            .bind(id)
            .bind(owner)
            .fetch_optional(pool)
            .await?
    });
    item.map(Json).ok_or(Refused::NotFound)
}

async fn list(
    State(ceiling): State<Arc<Ceiling>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refused> {
    let owner = owner(&ceiling, &headers)?;
    let items: Vec<Item> = on_pool!(&ceiling.pool, |pool| {
        sqlx::query_as(NEWEST).bind(owner).fetch_all(pool).await?
    });
    Ok(Json(serde_json::json!({ "items": items })))
}

async fn create(
    State(ceiling): State<Arc<Ceiling>>,
    headers: HeaderMap,
    Json(new): Json<NewItem>,
) -> Result<(StatusCode, Json<Item>), Refused> {
    let owner = owner(&ceiling, &headers)?;
    let seq = ceiling.next_seq.fetch_add(1, Ordering::Relaxed);
    let now = Utc::now();
    let data = new.data.map(sqlx::types::Json);
    let id = Uuid::now_v7();
    let item = on_pool!(&ceiling.pool, |pool| {
        sqlx::query_as(INSERT)
            .bind(id)
            .bind(owner)
            .bind(&new.name)
            .bind(&data)
            .bind(seq)
            .bind(now)
            .fetch_one(pool)
            .await?
    });
    Ok((StatusCode::CREATED, Json(item)))
}
