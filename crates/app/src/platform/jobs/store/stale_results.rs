//! A guard against apalis recording an attempt's result after a later attempt has started.
//!
//! apalis 1.0 writes results in batches (when the worker next polls), and its update matches the
//! job by id and worker only. The runner records a failed attempt at once, so a retry can be
//! fetched, by the same worker, before apalis has written the first attempt's result; that late
//! write then set the running job back to `Failed` and made it fetchable a second time: the retry
//! ran twice (seen as a second verification mail that consumed the first one's link). A result
//! carries its attempt number, and a running job's row holds the attempts before it, so a result
//! for a running job that does not move `attempts` forward belongs to an earlier attempt: the
//! database ignores it.

use sqlx::{PgPool, SqlitePool};

const SQLITE: &str = "CREATE TRIGGER IF NOT EXISTS aios_ignore_stale_results \
    BEFORE UPDATE OF status ON Jobs FOR EACH ROW \
    WHEN OLD.status IN ('Queued', 'Running') AND NEW.status IN ('Done', 'Failed') \
        AND NEW.attempts <= OLD.attempts \
    BEGIN SELECT RAISE(IGNORE); END";

const POSTGRES_FUNCTION: &str = "CREATE OR REPLACE FUNCTION apalis.aios_ignore_stale_results() \
    RETURNS trigger LANGUAGE plpgsql AS $$ \
    BEGIN \
        IF OLD.status IN ('Queued', 'Running') AND NEW.status IN ('Done', 'Failed') \
            AND NEW.attempts <= OLD.attempts THEN \
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
    sqlx::query(SQLITE).execute(pool).await?;
    Ok(())
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
