//! Database errors told apart (unreachable, disk full, a unique key raced for), and how the
//! SQLite writer keeps a full disk from locking every later writer out.

use sea_orm::{DbErr, RuntimeErr};

/// SQLite's `SQLITE_FULL` (13) or PostgreSQL's `disk_full` (53100): not a bug to hide behind a
/// 500 but an outage, retried once an operator frees space; the transaction wrote nothing.
fn is_disk_full(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| matches!(code.as_ref(), "13" | "53100")),
        _ => false,
    }
}

/// Whether a released SQLite connection may go back to the pool. On a full disk SQLite rolls
/// the whole transaction back itself (`SQLITE_FULL`); sqlx's own `ROLLBACK` then fails and it
/// still counts the connection as inside a transaction, so its next `BEGIN` becomes a
/// `SAVEPOINT` whose rollback leaves a transaction open holding the write lock: every writer
/// then waits out the busy timeout, until a restart. Such a connection is closed instead.
/// A committed transaction has left already; only a dropped one may still be rolling back on
/// the connection's thread, so only then does the check wait for it (a ping is one more round
/// trip to that thread, and used to be paid by every write).
pub(super) async fn reusable_sqlite_connection(
    conn: &mut sqlx::SqliteConnection,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// True when the error means "the database cannot be reached" (or cannot write: its disk is
/// full), which is a 503, not a 500.
pub fn is_unavailable(err: &DbErr) -> bool {
    let unreachable = match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(e) => e.code().is_some_and(|code| is_unavailable_code(&code)),
            _ => false,
        },
        DbErr::Conn(_) => true,
        _ => false,
    };
    unreachable || is_disk_full(err)
}

/// PostgreSQL's SQLSTATEs for "not now" rather than "never": the connection broke (class 08),
/// the server shuts down or restarts and ends every session (57P01 on `pg_ctl stop -m fast` and
/// `pg_terminate_backend`, reaching a statement in flight as a database error; 57P02, 57P03),
/// it is out of connections (53300), or a statement or lock timeout (set on the role by an
/// operator: the server sets none) or an operator's `pg_cancel_backend` ended the statement
/// (57014, 55P03). A retry later may well succeed.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03"
        )
}

/// True for a unique-constraint violation (two writers racing for the same key).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
