//! A guard against apalis writing an attempt's events after the runner has settled it.
//!
//! apalis 1.0 writes a worker's events in batches (when the worker next polls): the lock it
//! takes when an attempt starts and the result when it ends. Its updates match the job by id
//! (and the result by worker) only. The runner records a failed attempt at once, so those events
//! can reach a row that has moved on:
//! - a late lock of an attempt already recorded as failed put the job back to `Running`, where
//!   no worker fetches it (it stayed so until apalis's late result moved it back);
//! - a late result of attempt N, once the same worker had fetched attempt N + 1, set the running
//!   job back to `Failed`, where it was fetched and run a second time (seen as a retried
//!   verification mail sent twice, the first link consumed by the second).
//!
//! A job is fetched as `Queued`, so only a late lock moves `Failed` to `Running`; a result
//! carries its attempt number and a running job's row holds the attempts before it, so a result
//! that does not move `attempts` forward belongs to an earlier attempt. The database ignores both.

use sqlx::{PgPool, SqlitePool};

const SQLITE_DROP: &str = "DROP TRIGGER IF EXISTS aios_ignore_stale_results";

const SQLITE: &str = "CREATE TRIGGER aios_ignore_stale_results \
    BEFORE UPDATE OF status ON Jobs FOR EACH ROW \
    WHEN (OLD.status = 'Failed' AND NEW.status = 'Running') \
        OR (OLD.status IN ('Queued', 'Running') AND NEW.status IN ('Done', 'Failed') \
            AND NEW.attempts <= OLD.attempts) \
    BEGIN SELECT RAISE(IGNORE); END";

const POSTGRES_FUNCTION: &str = "CREATE OR REPLACE FUNCTION apalis.aios_ignore_stale_results() \
    RETURNS trigger LANGUAGE plpgsql AS $$ \
    BEGIN \
        IF (OLD.status = 'Failed' AND NEW.status = 'Running') \
            OR (OLD.status IN ('Queued', 'Running') AND NEW.status IN ('Done', 'Failed') \
                AND NEW.attempts <= OLD.attempts) THEN \
            RETURN NULL; \
        END IF; \
        RETURN NEW; \
    END $$";

const POSTGRES_TRIGGER: &str = "CREATE OR REPLACE TRIGGER aios_ignore_stale_results \
    BEFORE UPDATE ON apalis.jobs FOR EACH ROW \
    EXECUTE FUNCTION apalis.aios_ignore_stale_results()";

/// Any number, the same in every process: instances starting together take turns.
const POSTGRES_LOCK: i64 = 0x6a6f_6273_6775_6172;

pub(super) async fn install_on_sqlite(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut txn = pool.begin().await?;
    sqlx::query(SQLITE_DROP).execute(&mut *txn).await?;
    sqlx::query(SQLITE).execute(&mut *txn).await?;
    txn.commit().await
}

pub(super) async fn install_on_postgres(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut txn = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(POSTGRES_LOCK)
        .execute(&mut *txn)
        .await?;
    sqlx::query(POSTGRES_FUNCTION).execute(&mut *txn).await?;
    sqlx::query(POSTGRES_TRIGGER).execute(&mut *txn).await?;
    txn.commit().await
}
