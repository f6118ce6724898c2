//! The database: SQLite (WAL) under `DATA_DIR` by default, PostgreSQL when `DATABASE_URL` is set.
//! One SeaORM connection type serves both; backend-specific SQL is chosen with
//! `db.get_database_backend()` where a query needs it.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, Statement,
    TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use super::db_faults::{is_unavailable, is_unique_violation};
pub use super::text::escape_like;

use super::config::Config;
use super::db_faults;
use super::jobs::store::JobStore;
use super::metrics::{self, sampled::PoolStats};

/// How long a request waits for a pooled connection before answering 503. Also bounds how long
/// a request hangs while the database is down (sqlx keeps retrying refused connections until then).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// Jobs can wait longer for a connection than a request can: nobody is waiting on them.
const JOBS_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Arbitrary constant naming the migration lock in `pg_advisory_lock`.
const MIGRATION_LOCK_KEY: i64 = 0x6169_6f73_6d69_6772; // "aiosmigr"

/// The application's database handle, plus what `/health/ready` needs to know about it.
#[derive(Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    /// SQLite only: the one connection write transactions run on ([`begin_write`]).
    writer: Option<DatabaseConnection>,
    migrated: Arc<AtomicBool>,
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl Db {
    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// Answers within `timeout` whether the database executes a query.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.conn.ping()).await,
            Ok(Ok(()))
        )
    }

    /// True once this process has seen every migration applied.
    pub async fn migrations_applied(&self) -> bool {
        if self.migrated.load(Ordering::Relaxed) {
            return true;
        }
        match Migrator::get_pending_migrations(&self.conn).await {
            Ok(pending) if pending.is_empty() => {
                self.migrated.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    pub async fn close(&self) {
        for pool in std::iter::once(&self.conn).chain(&self.writer) {
            if let Err(err) = pool.clone().close().await {
                tracing::warn!(error = %err, "closing the database pool failed");
            }
        }
    }
}

/// Opens the pool, retrying with exponential backoff for up to `DATABASE_CONNECT_TIMEOUT_SECS`
/// (a database that starts alongside the server, as in docker-compose, is normal).
pub async fn connect(config: &Config) -> anyhow::Result<Db> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(250);
    let mut attempt = 1u32;
    loop {
        match try_connect(config).await {
            Ok((conn, writer)) => {
                return Ok(Db {
                    conn,
                    writer,
                    migrated: Arc::new(AtomicBool::new(false)),
                });
            }
            Err(err) if started.elapsed() + backoff < config.database.connect_timeout => {
                tracing::warn!(attempt, retry_in_ms = backoff.as_millis() as u64, error = %format!("{err:#}"),
                    "database not reachable yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(err) => {
                return Err(err.context(format!(
                    "database unreachable after {attempt} attempts over {}s \
                     (DATABASE_URL, DATABASE_CONNECT_TIMEOUT_SECS)",
                    started.elapsed().as_secs()
                )));
            }
        }
    }
}

/// The pool, and on SQLite the writer connection apart from it.
async fn try_connect(
    config: &Config,
) -> anyhow::Result<(DatabaseConnection, Option<DatabaseConnection>)> {
    let pool_size = config.database.pool_size;
    match &config.database.url {
        Some(_) => {
            let options = postgres_options(config, "aios-server")?;
            // sqlx pings every connection it hands out by default: a network round trip per
            // statement. Only a connection idle long enough to have been cut (a restart, a
            // proxy's idle timeout) is pinged; a busy one that breaks fails its statement (a
            // 503) and is dropped.
            let pool = PgPoolOptions::new()
                .max_connections(pool_size)
                .min_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_IF_IDLE_FOR {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await
                .context("connecting to PostgreSQL")?;
            Ok((
                metered(SqlxPostgresConnector::from_sqlx_postgres_pool(pool)),
                None,
            ))
        }
        None => {
            let data_dir = config.data_dir.clone();
            let path = config.sqlite_path();
            tokio::task::spawn_blocking(move || {
                super::private_fs::ensure_dir(&data_dir)
                    .with_context(|| format!("creating DATA_DIR {}", data_dir.display()))?;
                // SQLite gives its -wal and -shm files the database file's permissions.
                super::private_fs::ensure_file(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.clone().into_os_string();
                    side.push(suffix);
                    let side = std::path::PathBuf::from(side);
                    if side.exists() {
                        super::private_fs::ensure_file(&side)?;
                    }
                }
                anyhow::Ok(())
            })
            .await
            .context("preparing DATA_DIR")??;
            // No ping on acquire: a SQLite connection is a thread of this process, and sqlx's
            // ping is one more round trip to it (a context switch each way) per statement.
            let options = sqlite_options(config);
            let pool = SqlitePoolOptions::new()
                .max_connections(pool_size)
                .min_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .connect_with(options.clone());
            let opening = || format!("opening SQLite at {}", config.sqlite_path().display());
            let pool = pool.await.with_context(opening)?;
            // SQLite has one write lock. Writers sharing one connection queue for it in the
            // pool, first come first served, and are handed it the moment it is released;
            // many connections contending for it would sleep in SQLite's busy handler (up to
            // 100 ms a turn, in no order), which is what made the tail of writes seconds long.
            // Every write transaction runs here, so this is the pool whose connection may come
            // back from a full disk with a transaction SQLite ended itself (`db_faults`).
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .after_release(|conn, _| Box::pin(db_faults::reusable_sqlite_connection(conn)))
                .connect_with(options)
                .await
                .with_context(opening)?;
            Ok((
                metered(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)),
                Some(metered(SqlxSqliteConnector::from_sqlx_sqlite_pool(writer))),
            ))
        }
    }
}

/// Every statement of the application pool times itself into `db_query_duration_seconds`.
fn metered(mut conn: DatabaseConnection) -> DatabaseConnection {
    conn.set_metric_callback(|info| {
        metrics::record_query(&info.statement.sql, info.elapsed, info.failed);
    });
    conn
}

/// The state of the application pool and of the job queues' pool, for `/metrics`.
pub fn pool_stats(db: &Db, jobs: &JobStore) -> [PoolStats; 2] {
    fn stats<DB: sqlx::Database>(pool: &'static str, of: &sqlx::Pool<DB>) -> PoolStats {
        PoolStats {
            pool,
            size: of.size(),
            idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
            max: of.options().get_max_connections(),
        }
    }
    let app = match db.backend() {
        DatabaseBackend::Postgres => stats("app", db.get_postgres_connection_pool()),
        _ => stats("app", db.get_sqlite_connection_pool()),
    };
    let jobs = match jobs {
        JobStore::Postgres(pool) => stats("jobs", pool),
        JobStore::Sqlite(pool) => stats("jobs", pool),
    };
    [app, jobs]
}

/// How to reach PostgreSQL (`DATABASE_URL`, `DATABASE_SSL`), with `application_name` naming the
/// connection's role in `pg_stat_activity`. Fails when `DATABASE_URL` is not PostgreSQL.
pub fn postgres_options(
    config: &Config,
    application_name: &str,
) -> anyhow::Result<PgConnectOptions> {
    let url = config
        .database
        .url
        .as_ref()
        .context("DATABASE_URL is not set: there is no PostgreSQL to connect to")?;
    let mut options = PgConnectOptions::from_str(url.expose_secret())
        .context("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name(application_name)
        .log_statements(tracing::log::LevelFilter::Trace);
    // DATABASE_SSL=true requires TLS; a stricter mode in the URL (verify-ca, verify-full) is kept.
    if config.database.ssl
        && matches!(
            options.get_ssl_mode(),
            PgSslMode::Disable | PgSslMode::Allow | PgSslMode::Prefer
        )
    {
        options = options.ssl_mode(PgSslMode::Require);
    }
    Ok(options)
}

fn sqlite_options(config: &Config) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(config.sqlite_path())
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// The job queue's own pool, apart from the one requests use: workers polling, heart-beating
/// and waiting for SQLite's write lock must never take the connections a request needs. Lazy,
/// so a process that runs no worker opens none. On SQLite, more than two would only queue for
/// the one write lock.
pub fn job_store(config: &Config) -> anyhow::Result<JobStore> {
    let size = config.jobs.pool_size;
    match &config.database.url {
        Some(_) => {
            let options = postgres_options(config, "aios-server jobs")?;
            let pool = PgPoolOptions::new()
                .max_connections(size)
                .min_connections(0)
                .acquire_timeout(JOBS_ACQUIRE_TIMEOUT)
                .connect_lazy_with(options);
            Ok(JobStore::Postgres(pool))
        }
        None => {
            let pool = SqlitePoolOptions::new()
                .max_connections(size.min(2))
                .min_connections(0)
                .acquire_timeout(JOBS_ACQUIRE_TIMEOUT)
                .after_release(|conn, _| Box::pin(db_faults::reusable_sqlite_connection(conn)))
                .connect_lazy_with(sqlite_options(config));
            Ok(JobStore::Sqlite(pool))
        }
    }
}

/// The job queue on the application's own pool (migrations, tests).
pub fn job_store_on(db: &Db) -> JobStore {
    match db.backend() {
        DatabaseBackend::Postgres => JobStore::Postgres(db.get_postgres_connection_pool().clone()),
        _ => JobStore::Sqlite(db.get_sqlite_connection_pool().clone()),
    }
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes concurrent start-ups of
/// several instances take turns; the second finds nothing left to do.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    let conn = &db.conn;
    match db.backend() {
        DatabaseBackend::Postgres => {
            // The lock is held by one dedicated pooled connection for the whole run.
            let pool = conn.get_postgres_connection_pool();
            let mut lock_conn = pool
                .acquire()
                .await
                .context("acquiring the migration lock")?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *lock_conn)
                .await
                .context("taking the migration lock")?;
            let result = match Migrator::up(conn, None).await {
                Ok(()) => job_store_on(db).migrate().await,
                Err(err) => Err(err.into()),
            };
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *lock_conn)
                .await;
            result.context("applying migrations")?;
            unlocked.context("releasing the migration lock")?;
        }
        _ => {
            Migrator::up(conn, None)
                .await
                .context("applying migrations")?;
            job_store_on(db).migrate().await?;
        }
    }
    db.migrated.store(true, Ordering::Relaxed);
    Ok(())
}

/// Names of migrations not applied yet.
pub async fn pending_migrations(db: &Db) -> anyhow::Result<Vec<String>> {
    let pending = Migrator::get_pending_migrations(&db.conn).await?;
    Ok(pending.iter().map(|m| m.name().to_owned()).collect())
}

/// Drops every table and re-applies the migrations (the `db reset` command).
pub async fn reset(db: &Db) -> anyhow::Result<()> {
    Migrator::fresh(&db.conn)
        .await
        .context("resetting the database")?;
    db.migrated.store(true, Ordering::Relaxed);
    Ok(())
}

/// Starts a transaction that will write. On SQLite it runs on the writer connection and takes
/// the write lock at `BEGIN` (`BEGIN IMMEDIATE`): read-then-write transactions wait for each
/// other instead of failing with `SQLITE_BUSY` when their snapshot goes stale, and another
/// process's writer (a `worker`, the CLI) is waited for by the busy timeout.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    match &db.writer {
        Some(writer) => {
            writer
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await
        }
        None => db.conn.begin().await,
    }
}

/// A statement in the connection's own dialect.
pub fn statement(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Statement {
    Statement::from_sql_and_values(conn.get_database_backend(), sql, values)
}
