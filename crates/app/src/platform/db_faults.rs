//! A database whose disk is full: how its errors are told apart, and how the SQLite pools keep
//! such a failure from locking every later writer out.

use sea_orm::{DbErr, RuntimeErr};

/// SQLite's `SQLITE_FULL` (13) or PostgreSQL's `disk_full` (53100): not a bug to hide behind a
/// 500 but an outage, retried once an operator frees space; the transaction wrote nothing.
pub(super) fn is_disk_full(err: &DbErr) -> bool {
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
/// then waits out the busy timeout, until a restart. Such a connection is closed instead (the
/// ping first runs the rollback that a dropped transaction queued).
pub(super) async fn reusable_sqlite_connection(
    conn: &mut sqlx::SqliteConnection,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}
