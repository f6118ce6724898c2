//! The job queue's SQL on PostgreSQL (apalis's `apalis.jobs`).

use std::time::Duration;

use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Failed, JobFilter, Relayed, Row, state_condition};

fn database(err: apalis_postgres::Error) -> sqlx::Error {
    match err {
        apalis_postgres::Error::Database(err) => err,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

fn secs(wait: Duration) -> f64 {
    wait.as_secs_f64()
}

pub(super) async fn relay(
    pool: &PgPool,
    names: &[&str],
    plan: impl Fn(&str) -> Option<u32>,
    limit: i64,
) -> Result<Relayed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Concurrent relays skip each other's rows instead of waiting for them.
    let events: Vec<(uuid::Uuid, String, serde_json::Value)> = sqlx::query_as(
        "SELECT id, event_type, payload FROM outbox_events \
         WHERE processed_at IS NULL AND event_type = ANY($1) \
         ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(names)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if events.is_empty() {
        return Ok(Relayed::default());
    }
    let mut relayed = Relayed::default();
    let mut ids = Vec::with_capacity(events.len());
    for (id, event_type, payload) in events {
        ids.push(id);
        let Some(max_attempts) = plan(&event_type) else {
            relayed.acknowledged += 1;
            continue;
        };
        let args = super::super::envelope::encode(id, &event_type, payload)
            .map_err(|e| sqlx::Error::Encode(e.into()))?;
        let task = TaskBuilder::new(args)
            .max_attempts(usize::try_from(max_attempts).unwrap_or(usize::MAX))
            .idempotency_key(id.to_string())
            .build();
        apalis_postgres::queries::push_tasks(&mut *tx, &event_type, vec![task])
            .await
            .map_err(database)?;
        relayed.queued += 1;
    }
    sqlx::query(
        "UPDATE outbox_events SET processed_at = now(), attempts = attempts + 1 \
         WHERE id = ANY($1)",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(relayed)
}

pub(super) async fn oldest_undelivered(
    pool: &PgPool,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(created_at) FROM outbox_events WHERE processed_at IS NULL")
        .fetch_one(pool)
        .await
}

pub(super) async fn push_unique(
    pool: &PgPool,
    queue: &str,
    key: &str,
    args: Vec<u8>,
    max_attempts: u32,
) -> Result<bool, sqlx::Error> {
    let task = TaskBuilder::new(args)
        .max_attempts(usize::try_from(max_attempts).unwrap_or(usize::MAX))
        .idempotency_key(key)
        .build();
    let mut conn = pool.acquire().await?;
    match apalis_postgres::queries::push_tasks(&mut *conn, queue, vec![task]).await {
        Ok(()) => Ok(true),
        // (job_type, idempotency_key) is unique: another process queued this period first.
        Err(apalis_postgres::Error::Database(sqlx::Error::Database(err)))
            if err.is_unique_violation() =>
        {
            Ok(false)
        }
        Err(err) => Err(database(err)),
    }
}

pub(super) async fn postpone(
    pool: &PgPool,
    id: &str,
    failed: &Failed<'_>,
    wait: Duration,
    extra_attempts: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Failed', attempts = $4, last_result = $5, \
         done_at = now(), lock_by = NULL, lock_at = NULL, \
         run_at = now() + make_interval(secs => $2), max_attempts = max_attempts + $3 \
         WHERE id = $1 AND status IN ('Queued', 'Running')",
    )
    .bind(id)
    .bind(secs(wait))
    .bind(extra_attempts)
    .bind(i32::try_from(failed.attempt).unwrap_or(i32::MAX))
    .bind(sqlx::types::Json(failed.result()))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn bury(pool: &PgPool, id: &str, attempt: u32) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE apalis.jobs SET max_attempts = $2 WHERE id = $1")
        .bind(id)
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn release(pool: &PgPool, workers: &[String]) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, \
         done_at = NULL WHERE lock_by = ANY($1) AND status IN ('Queued', 'Running')",
    )
    .bind(workers)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

const COLUMNS: &str = "id, job_type, status, attempts::bigint, max_attempts::bigint, \
     last_result::text, run_at, lock_at, done_at, job";

type RawRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Vec<u8>,
);

fn row(raw: RawRow) -> Row {
    let (id, queue, status, attempts, max_attempts, last_result, run_at, lock_at, done_at, job) =
        raw;
    Row {
        id,
        queue,
        status,
        attempts,
        max_attempts,
        last_result,
        run_at,
        lock_at,
        done_at,
        job,
    }
}

fn filtered(select: &str, filter: &JobFilter) -> QueryBuilder<Postgres> {
    let mut query = QueryBuilder::new(select);
    query.push(" FROM apalis.jobs WHERE TRUE");
    if let Some(state) = filter.state {
        query.push(" AND ").push(state_condition(state));
    }
    if let Some(queue) = &filter.queue {
        query.push(" AND job_type = ").push_bind(queue.clone());
    }
    query
}

pub(super) async fn list(pool: &PgPool, filter: &JobFilter) -> Result<Vec<Row>, sqlx::Error> {
    let mut query = filtered(&format!("SELECT {COLUMNS}"), filter);
    if let Some(before) = &filter.before {
        query.push(" AND id < ").push_bind(before.clone());
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::try_from(filter.limit).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
    let rows: Vec<RawRow> = query.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(row).collect())
}

pub(super) async fn count(pool: &PgPool, filter: &JobFilter) -> Result<u64, sqlx::Error> {
    let count: i64 = filtered("SELECT count(*)", filter)
        .build_query_scalar()
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn get(pool: &PgPool, id: &str) -> Result<Option<Row>, sqlx::Error> {
    let raw: Option<RawRow> = sqlx::query_as(
        "SELECT id, job_type, status, attempts::bigint, max_attempts::bigint, last_result::text, \
         run_at, lock_at, done_at, job FROM apalis.jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(raw.map(row))
}

pub(super) async fn requeue(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(), \
         lock_by = NULL, lock_at = NULL, done_at = NULL \
         WHERE id = $1 AND status IN ('Failed', 'Killed')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn delete(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "DELETE FROM apalis.jobs WHERE id = $1 AND status NOT IN ('Queued', 'Running')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn depth(pool: &PgPool) -> Result<Vec<(String, String, bool, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT job_type, status, (status = 'Failed' AND attempts >= max_attempts), count(*) \
         FROM apalis.jobs GROUP BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
}

pub(super) async fn purge_done(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM apalis.jobs WHERE status = 'Done' AND done_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}
