//! The job queues, in apalis's own tables on the application's database: `apalis-postgres` on
//! PostgreSQL, `apalis-sqlite` on SQLite (ADR 0008 says why not `apalis-redis`). apalis fetches,
//! leases (worker heartbeats) and records results; what it does not offer in 1.0 (moving outbox
//! events in one transaction, retry delays, dead jobs, the admin operations) is done here with
//! SQL on its schema.

mod postgres;
mod sqlite;
mod stale_results;

use std::time::Duration;

use chrono::{DateTime, Utc};

/// An apalis job id (a ULID, so ids sort by creation time).
pub type JobId = String;

#[derive(Clone)]
pub enum JobStore {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Where a job stands, as the admin API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its first run, or queued again.
    Pending,
    /// Fetched by a worker, or running.
    Running,
    /// Its last attempt failed; it runs again after its backoff.
    Failed,
    /// Failed on its last attempt (or permanently): kept with its last error until retried or
    /// deleted.
    Dead,
    Done,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Failed,
        JobState::Dead,
        JobState::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
            JobState::Done => "done",
        }
    }

    /// From apalis's status and the attempt counters.
    fn of(status: &str, attempts: i64, max_attempts: i64) -> Self {
        match status {
            "Pending" => JobState::Pending,
            "Queued" | "Running" => JobState::Running,
            "Done" => JobState::Done,
            "Failed" if attempts < max_attempts => JobState::Failed,
            _ => JobState::Dead,
        }
    }
}

/// One job, as the admin API shows it.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: JobId,
    pub queue: String,
    pub state: JobState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

/// A raw row, before it is interpreted.
struct Row {
    id: String,
    queue: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    last_result: Option<String>,
    run_at: DateTime<Utc>,
    lock_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    job: Vec<u8>,
}

impl Row {
    fn into_record(self) -> JobRecord {
        // ULIDs carry their creation time in milliseconds.
        let created_at = ulid::Ulid::from_string(&self.id)
            .ok()
            .and_then(|id| DateTime::from_timestamp_millis(i64::try_from(id.timestamp_ms()).ok()?))
            .unwrap_or(self.run_at);
        let updated_at = [Some(created_at), self.lock_at, self.done_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created_at);
        JobRecord {
            state: JobState::of(&self.status, self.attempts, self.max_attempts),
            last_error: self.last_result.as_deref().and_then(error_of),
            payload: serde_json::from_slice(&self.job).unwrap_or(serde_json::Value::Null),
            id: self.id,
            queue: self.queue,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            run_at: self.run_at,
            created_at,
            updated_at,
        }
    }
}

/// An attempt that failed and runs again later, recorded by us at once rather than by apalis's
/// acknowledgement. apalis acknowledges in batches, on its worker's next poll or heartbeat: until
/// then the job would stay locked as running, and a retry due in 2 s could wait a whole
/// heartbeat. Recording it also releases the lock, so the late acknowledgement (which only
/// touches jobs the worker still locks) changes nothing. The job may still read `Queued` then:
/// apalis-sqlite marks a fetched job running with the same batched events.
pub struct Failed<'a> {
    pub attempt: u32,
    pub error: &'a str,
}

impl Failed<'_> {
    /// The `last_result` apalis itself would write.
    fn result(&self) -> serde_json::Value {
        serde_json::json!({ "Err": self.error })
    }
}

/// apalis stores a result as `{"Ok": ...}` or `{"Err": "message"}`.
fn error_of(last_result: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(last_result).ok()?;
    match value.get("Err")? {
        serde_json::Value::String(message) => Some(message.clone()),
        other => Some(other.to_string()),
    }
}

/// Which jobs a listing shows.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub queue: Option<String>,
    /// Only jobs older than this id (the cursor of the previous page).
    pub before: Option<JobId>,
    pub offset: u64,
    pub limit: u64,
}

/// What moving outbox events into the queues did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Relayed {
    /// Events that became jobs.
    pub queued: usize,
    /// Events that nothing consumes yet, marked delivered.
    pub acknowledged: usize,
}

impl JobStore {
    /// Creates or updates apalis's tables (its own migrations, kept apart from ours).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pool) => {
                apalis_sqlite::SqliteStorage::<()>::migrations()
                    .run(pool)
                    .await
                    .map_err(|e| anyhow::anyhow!("applying the job queue's migrations: {e}"))?;
                stale_results::install_on_sqlite(pool).await?;
            }
            Self::Postgres(pool) => {
                apalis_postgres::PostgresStorage::<()>::migrations()
                    .run(pool)
                    .await
                    .map_err(|e| anyhow::anyhow!("applying the job queue's migrations: {e}"))?;
                stale_results::install_on_postgres(pool).await?;
            }
        }
        Ok(())
    }

    /// Moves up to `limit` undelivered outbox events of the types in `names` into their
    /// queues, in one transaction with marking them delivered: each event becomes exactly one
    /// job (its id is the job's idempotency key and is in its payload), or nothing happens.
    /// `plan` gives a type's attempts when it becomes a job, `None` when it is only
    /// acknowledged.
    pub async fn relay(
        &self,
        names: &[&str],
        plan: impl Fn(&str) -> Option<u32>,
        limit: i64,
    ) -> Result<Relayed, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::relay(pool, names, plan, limit).await,
            Self::Postgres(pool) => postgres::relay(pool, names, plan, limit).await,
        }
    }

    /// The age of the oldest event not moved into a queue yet.
    pub async fn outbox_lag(&self) -> Result<Duration, sqlx::Error> {
        let oldest = match self {
            Self::Sqlite(pool) => sqlite::oldest_undelivered(pool).await?,
            Self::Postgres(pool) => postgres::oldest_undelivered(pool).await?,
        };
        Ok(oldest
            .and_then(|at| (Utc::now() - at).to_std().ok())
            .unwrap_or_default())
    }

    /// Queues a scheduled task's run for one period; false when a process queued it already.
    pub async fn push_unique(
        &self,
        queue: &str,
        key: &str,
        payload: &serde_json::Value,
        max_attempts: u32,
    ) -> Result<bool, sqlx::Error> {
        let args = serde_json::to_vec(payload).map_err(|e| sqlx::Error::Encode(e.into()))?;
        match self {
            Self::Sqlite(pool) => sqlite::push_unique(pool, queue, key, args, max_attempts).await,
            Self::Postgres(pool) => {
                postgres::push_unique(pool, queue, key, args, max_attempts).await
            }
        }
    }

    /// After a failed attempt that may succeed later: run the job again `wait` from now.
    pub async fn retry_after(
        &self,
        id: &str,
        failed: &Failed<'_>,
        wait: Duration,
    ) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::postpone(pool, id, failed, wait, 0).await,
            Self::Postgres(pool) => postgres::postpone(pool, id, failed, wait, 0).await,
        }
    }

    /// After a failed attempt that did not count (the provider is down): run it again `wait`
    /// from now, with one more attempt allowed.
    pub async fn defer(
        &self,
        id: &str,
        failed: &Failed<'_>,
        wait: Duration,
    ) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::postpone(pool, id, failed, wait, 1).await,
            Self::Postgres(pool) => postgres::postpone(pool, id, failed, wait, 1).await,
        }
    }

    /// After a failure no retry can fix: the job is dead once this attempt is recorded.
    pub async fn bury(&self, id: &str, attempt: u32) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::bury(pool, id, attempt).await,
            Self::Postgres(pool) => postgres::bury(pool, id, attempt).await,
        }
    }

    /// Puts the jobs that these workers still hold back in the queue (after a shutdown whose
    /// grace ran out), without counting the interrupted attempt.
    pub async fn release(&self, workers: &[String]) -> Result<u64, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::release(pool, workers).await,
            Self::Postgres(pool) => postgres::release(pool, workers).await,
        }
    }

    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, sqlx::Error> {
        let rows = match self {
            Self::Sqlite(pool) => sqlite::list(pool, filter).await?,
            Self::Postgres(pool) => postgres::list(pool, filter).await?,
        };
        Ok(rows.into_iter().map(Row::into_record).collect())
    }

    pub async fn count(&self, filter: &JobFilter) -> Result<u64, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::count(pool, filter).await,
            Self::Postgres(pool) => postgres::count(pool, filter).await,
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<JobRecord>, sqlx::Error> {
        let row = match self {
            Self::Sqlite(pool) => sqlite::get(pool, id).await?,
            Self::Postgres(pool) => postgres::get(pool, id).await?,
        };
        Ok(row.map(Row::into_record))
    }

    /// How many of a job's `attempt` runs were spent: each deferral (`defer`) ran it once and
    /// allowed it one more attempt, raising its `max_attempts` above the `granted` ones.
    pub async fn spent_attempts(&self, id: &str, attempt: u32, granted: u32) -> u32 {
        let Ok(Some(job)) = self.get(id).await else {
            return attempt;
        };
        let deferred = u32::try_from(job.max_attempts - i64::from(granted)).unwrap_or(0);
        attempt.saturating_sub(deferred).max(1)
    }

    /// Queues a failed or dead job again with a fresh set of attempts; false when it is not
    /// failed or dead (any more).
    pub async fn requeue(&self, id: &str) -> Result<bool, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::requeue(pool, id).await,
            Self::Postgres(pool) => postgres::requeue(pool, id).await,
        }
    }

    /// Deletes a job that is not running; false when it is running (or gone).
    pub async fn delete(&self, id: &str) -> Result<bool, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::delete(pool, id).await,
            Self::Postgres(pool) => postgres::delete(pool, id).await,
        }
    }

    /// How many jobs each queue has in each state.
    pub async fn depth(&self) -> Result<Vec<(String, JobState, u64)>, sqlx::Error> {
        let rows = match self {
            Self::Sqlite(pool) => sqlite::depth(pool).await?,
            Self::Postgres(pool) => postgres::depth(pool).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(queue, status, dead, n)| {
                let state = match (status.as_str(), dead) {
                    ("Failed", true) => JobState::Dead,
                    (status, _) => JobState::of(status, 0, 1),
                };
                (queue, state, u64::try_from(n).unwrap_or(0))
            })
            .collect())
    }

    /// Deletes jobs done before `before`; returns how many.
    pub async fn purge_done(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlite::purge_done(pool, before).await,
            Self::Postgres(pool) => postgres::purge_done(pool, before).await,
        }
    }
}

/// The SQL condition of a state, over apalis's columns.
fn state_condition(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "status = 'Pending'",
        JobState::Running => "status IN ('Queued', 'Running')",
        JobState::Failed => "status = 'Failed' AND attempts < max_attempts",
        JobState::Dead => "((status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed')",
        JobState::Done => "status = 'Done'",
    }
}
