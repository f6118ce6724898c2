//! The job queue's SQL on SQLite (apalis's `Jobs`; times are Unix seconds there).

use std::time::Duration;

use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::{Failed, JobFilter, Relayed, Row, state_condition};

fn database(err: apalis_sqlite::Error) -> sqlx::Error {
    match err {
        apalis_sqlite::Error::Database(err) => err,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// `wait` from now, in whole Unix seconds rounded up: apalis compares `run_at` with the current
/// second, so rounding down (or adding whole seconds to a rounded-down now) could run a job up
/// to a second early.
fn seconds_from_now(wait: Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let at = now.saturating_add(wait);
    let secs = at.as_secs() + u64::from(at.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

fn time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs?, 0)
}

pub(super) async fn relay(
    pool: &SqlitePool,
    names: &[&str],
    plan: impl Fn(&str) -> Option<u32>,
    limit: i64,
) -> Result<Relayed, sqlx::Error> {
    // The write lock up front, like every write transaction of ours (`db::begin_write`).
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut select = QueryBuilder::<Sqlite>::new(
        "SELECT id, event_type, payload FROM outbox_events WHERE processed_at IS NULL AND event_type IN (",
    );
    let mut list = select.separated(", ");
    for name in names {
        list.push_bind(*name);
    }
    select
        .push(") ORDER BY created_at, id LIMIT ")
        .push_bind(limit);
    let events: Vec<(uuid::Uuid, String, serde_json::Value)> =
        select.build_query_as().fetch_all(&mut *tx).await?;
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
        apalis_sqlite::queries::push_tasks(&mut *tx, &event_type, &[task])
            .await
            .map_err(database)?;
        relayed.queued += 1;
    }
    let mut update = QueryBuilder::<Sqlite>::new("UPDATE outbox_events SET processed_at = ");
    update
        .push_bind(crate::platform::clock::now())
        .push(", attempts = attempts + 1 WHERE id IN (");
    let mut list = update.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    update.push(")");
    update.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(relayed)
}

pub(super) async fn oldest_undelivered(
    pool: &SqlitePool,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(created_at) FROM outbox_events WHERE processed_at IS NULL")
        .fetch_one(pool)
        .await
}

pub(super) async fn push_unique(
    pool: &SqlitePool,
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
    // `ON CONFLICT (job_type, idempotency_key) DO NOTHING`: a second push of the period is a
    // no-op, which the count tells apart.
    let before = count_key(&mut conn, queue, key).await?;
    apalis_sqlite::queries::push_tasks(&mut *conn, queue, &[task])
        .await
        .map_err(database)?;
    Ok(before == 0)
}

async fn count_key(
    conn: &mut sqlx::SqliteConnection,
    queue: &str,
    key: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM Jobs WHERE job_type = ?1 AND idempotency_key = ?2")
        .bind(queue)
        .bind(key)
        .fetch_one(&mut *conn)
        .await
}

pub(super) async fn postpone(
    pool: &SqlitePool,
    id: &str,
    failed: &Failed<'_>,
    wait: Duration,
    extra_attempts: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE Jobs SET status = 'Failed', attempts = ?4, last_result = ?5, \
         done_at = strftime('%s', 'now'), lock_by = NULL, lock_at = NULL, \
         run_at = ?2, max_attempts = max_attempts + ?3 \
         WHERE id = ?1 AND status IN ('Queued', 'Running')",
    )
    .bind(id)
    .bind(seconds_from_now(wait))
    .bind(extra_attempts)
    .bind(i64::from(failed.attempt))
    .bind(failed.result().to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn bury(pool: &SqlitePool, id: &str, attempt: u32) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE Jobs SET max_attempts = ?2 WHERE id = ?1")
        .bind(id)
        .bind(i64::from(attempt))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn release(pool: &SqlitePool, workers: &[String]) -> Result<u64, sqlx::Error> {
    if workers.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<Sqlite>::new(
        "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL, done_at = NULL \
         WHERE status IN ('Queued', 'Running') AND lock_by IN (",
    );
    let mut list = query.separated(", ");
    for worker in workers {
        list.push_bind(worker);
    }
    query.push(")");
    Ok(query.build().execute(pool).await?.rows_affected())
}

const COLUMNS: &str =
    "id, job_type, status, attempts, max_attempts, last_result, run_at, lock_at, done_at, job";

type RawRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
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
        run_at: time(Some(run_at)).unwrap_or_default(),
        lock_at: time(lock_at),
        done_at: time(done_at),
        job,
    }
}

fn filtered(select: &str, filter: &JobFilter) -> QueryBuilder<Sqlite> {
    let mut query = QueryBuilder::new(select);
    query.push(" FROM Jobs WHERE 1");
    if let Some(state) = filter.state {
        query.push(" AND ").push(state_condition(state));
    }
    if let Some(queue) = &filter.queue {
        query.push(" AND job_type = ").push_bind(queue.clone());
    }
    query
}

pub(super) async fn list(pool: &SqlitePool, filter: &JobFilter) -> Result<Vec<Row>, sqlx::Error> {
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

pub(super) async fn count(pool: &SqlitePool, filter: &JobFilter) -> Result<u64, sqlx::Error> {
    let count: i64 = filtered("SELECT count(*)", filter)
        .build_query_scalar()
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn get(pool: &SqlitePool, id: &str) -> Result<Option<Row>, sqlx::Error> {
    let raw: Option<RawRow> = sqlx::query_as(
        "SELECT id, job_type, status, attempts, max_attempts, last_result, run_at, lock_at, \
         done_at, job FROM Jobs WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(raw.map(row))
}

pub(super) async fn requeue(pool: &SqlitePool, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE Jobs SET status = 'Pending', attempts = 0, run_at = strftime('%s', 'now'), \
         lock_by = NULL, lock_at = NULL, done_at = NULL \
         WHERE id = ?1 AND status IN ('Failed', 'Killed')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn delete(pool: &SqlitePool, id: &str) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("DELETE FROM Jobs WHERE id = ?1 AND status NOT IN ('Queued', 'Running')")
            .bind(id)
            .execute(pool)
            .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn depth(
    pool: &SqlitePool,
) -> Result<Vec<(String, String, bool, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT job_type, status, (status = 'Failed' AND attempts >= max_attempts), count(*) \
         FROM Jobs GROUP BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
}

pub(super) async fn purge_done(
    pool: &SqlitePool,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM Jobs WHERE status = 'Done' AND done_at < ?1")
        .bind(before.timestamp())
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}
