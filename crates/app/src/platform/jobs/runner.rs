//! Background work on apalis: the relay that moves outbox events into the job queues, one apalis
//! worker per queue (each event type, and each scheduled task, is a queue with its own limits),
//! the cron ticks of the scheduled tasks, and the queue gauges. Runs inside `serve` when
//! `JOBS_IN_PROCESS=true` (the default) and in the `worker` command; any number of processes may
//! run it against one database.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{
    Attempt, BackendExt as _, BoxDynError, Data, Monitor, TaskId, WorkerBuilder,
    WorkerBuilderExt as _,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::error::JobError;
use super::event::{Delivery, ErasedHandler, EventHandlers};
use super::schedule::{self, ScheduledTask};
use super::spec::JobSpec;
use super::store::{Failed, JobState, JobStore};
use super::{envelope::Envelope, metrics};
use crate::state::AppState;

/// Events moved into the queues per relay transaction.
const RELAY_BATCH: i64 = 100;
/// How often the relay looks for events when nothing woke it.
const RELAY_POLL: Duration = Duration::from_millis(500);
/// How often the queue-depth and outbox-lag gauges are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_secs(10);

/// What one queue's worker needs to run a job.
struct Queue {
    name: String,
    spec: JobSpec,
    run: Runnable,
}

#[derive(Clone)]
enum Runnable {
    Event(Arc<dyn ErasedHandler>),
    Scheduled(Arc<dyn ScheduledTask>),
}

struct JobContext {
    app: AppState,
    store: JobStore,
    queue: Queue,
    /// `WORKER_CONCURRENCY`: all queues of the process together.
    permits: Arc<Semaphore>,
}

pub struct Worker {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    monitor: tokio::task::JoinHandle<()>,
    store: JobStore,
    worker_names: Vec<String>,
}

impl Worker {
    pub fn start(
        app: AppState,
        handlers: EventHandlers,
        scheduled: Vec<Arc<dyn ScheduledTask>>,
    ) -> Self {
        // A task with an empty schedule is off (the backup, unless BACKUP_SCHEDULE is set).
        let scheduled: Vec<_> = scheduled
            .into_iter()
            .filter(|task| !task.schedule(&app.config).is_empty())
            .collect();
        let cancel = CancellationToken::new();
        let store = app.jobs.clone();
        let permits = Arc::new(Semaphore::new(app.config.jobs.worker_concurrency));
        let mut queues: Vec<Queue> = handlers
            .queues()
            .into_iter()
            .map(|(name, handler)| Queue {
                name: name.to_owned(),
                spec: handler.spec(),
                run: Runnable::Event(handler),
            })
            .collect();
        queues.extend(scheduled.iter().map(|task| Queue {
            name: schedule::queue_of(task.as_ref()),
            spec: task.spec(),
            run: Runnable::Scheduled(task.clone()),
        }));

        for queue in &queues {
            metrics::register(&queue.name);
        }
        let mut tasks = JoinSet::new();
        tasks.spawn(relay(
            app.clone(),
            store.clone(),
            Arc::new(handlers),
            cancel.clone(),
        ));
        for task in scheduled {
            let when = task.schedule(&app.config);
            tasks.spawn(schedule::queue_ticks(
                store.clone(),
                task,
                when,
                cancel.clone(),
            ));
        }
        tasks.spawn(gauges(store.clone(), cancel.clone()));

        let instance = instance_name();
        let mut worker_names = Vec::new();
        let mut monitor = Monitor::new().shutdown_timeout(app.config.shutdown_timeout);
        for queue in queues {
            let ctx = Arc::new(JobContext {
                app: app.clone(),
                store: store.clone(),
                queue,
                permits: permits.clone(),
            });
            let base = format!("{}@{instance}", ctx.queue.name);
            worker_names.push(base.clone());
            monitor = register(monitor, ctx, base);
        }
        let stop = cancel.clone();
        let monitor = tokio::spawn(async move {
            let signal = async move {
                stop.cancelled().await;
                Ok(())
            };
            if let Err(err) = monitor.run_with_signal(signal).await {
                tracing::error!(error = %err, "the job workers stopped with an error");
            }
        });
        tracing::info!(workers = worker_names.len(), "job workers started");
        Self {
            cancel,
            tasks,
            monitor,
            store,
            worker_names,
        }
    }

    /// Stops fetching; lets running jobs finish for up to `timeout` (the monitor's shutdown
    /// timeout), then puts whatever is still held back in the queue so that another worker runs
    /// it at once instead of after the lease.
    pub async fn stop(mut self, timeout: Duration) {
        self.cancel.cancel();
        if tokio::time::timeout(timeout + Duration::from_secs(1), &mut self.monitor)
            .await
            .is_err()
        {
            self.monitor.abort();
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        // Each worker name is followed by its restart count.
        let held: Vec<String> = self
            .worker_names
            .iter()
            .flat_map(|base| (0..8).map(move |n| format!("{base}#{n}")))
            .collect();
        match self.store.release(&held).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "jobs still running at shutdown were queued again"),
            Err(err) => {
                tracing::warn!(error = %err, "could not queue interrupted jobs again; they run after their lease")
            }
        }
    }
}

/// Unique per process start: apalis refuses (or worse, strands the jobs of) a worker name that
/// is registered already, and a SIGKILLed process leaves its name behind.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!("{host}:{}:{}", std::process::id(), ulid::Ulid::generate())
}

/// The heartbeat interval, and how many missed beats make the lease. apalis 1.0's worker can
/// miss the wake-up after an empty poll (seen on PostgreSQL: a queue with due jobs left unpolled
/// for seconds); its heartbeat timer wakes it again, so beats come at least every second, and the
/// lease (how long a dead worker's jobs wait) stays what was configured.
fn heartbeat_for(lease: Duration) -> (Duration, usize) {
    let heartbeat = (lease / 3).clamp(Duration::from_millis(500), Duration::from_secs(1));
    let beats = lease.as_millis().div_ceil(heartbeat.as_millis().max(1));
    (
        heartbeat,
        usize::try_from(beats).unwrap_or(usize::MAX).max(3),
    )
}

fn register(monitor: Monitor, ctx: Arc<JobContext>, base: String) -> Monitor {
    let poll = ctx.app.config.jobs.poll_interval;
    let lease = ctx.queue.spec.lease.unwrap_or(ctx.app.config.jobs.lease);
    let (heartbeat, missed) = heartbeat_for(lease);
    let concurrency = ctx.queue.spec.concurrency.max(1);
    match ctx.store.clone() {
        JobStore::Sqlite(pool) => monitor.register(move |restart| {
            let config = apalis_sqlite::Config::default()
                .queue(&ctx.queue.name)
                .heartbeat_interval(heartbeat)
                .missed_heartbeats(missed)
                // One at a time: a fetched job that waits in a buffer for a free slot stops the
                // worker's heartbeat, and another worker would run it too.
                .batch_size(1);
            let backend = apalis_sqlite::SqliteStorage::<serde_json::Value>::new(&pool)
                .with_config(config)
                .poll_with_interval(poll);
            WorkerBuilder::new(format!("{base}#{restart}"))
                .backend(backend)
                .data(ctx.clone())
                .concurrency(concurrency)
                .catch_panic()
                .build(run_job)
        }),
        JobStore::Postgres(pool) => monitor.register(move |restart| {
            let config = apalis_postgres::Config::default()
                .queue(&ctx.queue.name)
                .heartbeat_interval(heartbeat)
                .missed_heartbeats(missed)
                .batch_size(1);
            let backend = apalis_postgres::PostgresStorage::<serde_json::Value>::new(&pool)
                .with_config(config)
                .poll_with_interval(poll);
            WorkerBuilder::new(format!("{base}#{restart}"))
                .backend(backend)
                .data(ctx.clone())
                .concurrency(concurrency)
                .catch_panic()
                .build(run_job)
        }),
    }
}

/// One attempt of one job. The outcome is told to apalis by the result (Ok: done; Err: failed),
/// and what apalis 1.0 cannot express is set on the row first: when to retry, a failure that is
/// permanent, or an attempt that did not count.
async fn run_job(
    job: serde_json::Value,
    attempt: Attempt,
    id: TaskId,
    ctx: Data<Arc<JobContext>>,
) -> Result<(), BoxDynError> {
    let ctx = ctx.0.clone();
    let id = id.to_string();
    let attempt = u32::try_from(attempt.current()).unwrap_or(u32::MAX).max(1);
    let queue = ctx.queue.name.clone();
    let span = tracing::info_span!("job", job.id = %id, job.queue = %queue, attempt);
    let outcome = async {
        let _permit = ctx.permits.acquire().await.map_err(JobError::retry)?;
        let work = attempt_once(&ctx, job, attempt);
        match tokio::time::timeout(ctx.queue.spec.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(JobError::retry(format!(
                "timed out after {} s",
                ctx.queue.spec.timeout.as_secs()
            ))),
        }
    }
    .instrument(span.clone())
    .await;
    settle(&ctx, &id, attempt, outcome).instrument(span).await
}

async fn attempt_once(
    ctx: &JobContext,
    job: serde_json::Value,
    attempt: u32,
) -> Result<(), JobError> {
    match &ctx.queue.run {
        Runnable::Event(handler) => {
            let envelope: Envelope = serde_json::from_value(job)
                .map_err(|err| JobError::Permanent(format!("not a job of ours: {err}")))?;
            let delivery = Delivery {
                event_id: envelope.event_id,
                attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
            };
            handler
                .handle_json(&ctx.app, envelope.payload, delivery)
                .await
        }
        Runnable::Scheduled(task) => {
            let period = job.get("period").and_then(serde_json::Value::as_u64);
            task.run(&ctx.app).await.map_err(JobError::from)?;
            tracing::info!(task = task.name(), period, "scheduled task ran");
            Ok(())
        }
    }
}

async fn settle(
    ctx: &JobContext,
    id: &str,
    attempt: u32,
    outcome: Result<(), JobError>,
) -> Result<(), BoxDynError> {
    let queue = ctx.queue.name.as_str();
    let spec = &ctx.queue.spec;
    let err = match outcome {
        Ok(()) => {
            metrics::completed(queue);
            return Ok(());
        }
        Err(err) => err,
    };
    let message = err.to_string();
    let failed = Failed {
        attempt,
        error: &message,
    };
    // Runs deferred behind an open breaker spent no attempt: the backoff must not count them.
    let spent = ctx
        .store
        .spent_attempts(id, attempt, spec.max_attempts)
        .await;
    let recorded = match &err {
        JobError::Retry { retry_after, .. } if spent < spec.max_attempts => {
            let wait = spec.backoff(spent).max(retry_after.unwrap_or_default());
            metrics::retried(queue);
            tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "job failed; will retry");
            ctx.store.retry_after(id, &failed, wait).await
        }
        JobError::Retry { .. } => {
            metrics::dead(queue);
            tracing::error!(error = %err, "job failed on its last attempt; it is dead");
            ctx.app.error_tracker.job_dead(queue, id, attempt, &message);
            Ok(())
        }
        JobError::Permanent(_) => {
            metrics::dead(queue);
            tracing::error!(error = %err, "job failed permanently; it is dead");
            ctx.app.error_tracker.job_dead(queue, id, attempt, &message);
            ctx.store.bury(id, attempt).await
        }
        JobError::Defer { after, .. } => {
            metrics::deferred(queue);
            tracing::info!(error = %err, "job deferred without spending an attempt");
            ctx.store.defer(id, &failed, *after).await
        }
    };
    if let Err(db) = recorded {
        tracing::warn!(error = %db, "could not record how the job failed; it is retried as apalis decides");
    }
    metrics::failed(queue);
    Err(message.into())
}

async fn relay(
    app: AppState,
    store: JobStore,
    handlers: Arc<EventHandlers>,
    cancel: CancellationToken,
) {
    let names = handlers.names();
    let plan = |name: &str| match handlers.route(name) {
        Some(super::event::Route::Job(handler)) => Some(handler.spec().max_attempts),
        _ => None,
    };
    tracing::info!(events = ?names, "outbox relay started");
    while !cancel.is_cancelled() {
        let moved = match store.relay(&names, plan, RELAY_BATCH).await {
            Ok(relayed) => relayed.queued + relayed.acknowledged,
            Err(err) => {
                tracing::warn!(error = %err, "moving outbox events into the job queues failed");
                0
            }
        };
        if moved >= usize::try_from(RELAY_BATCH).unwrap_or(usize::MAX) {
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = app.outbox_signal.notified() => {}
            () = tokio::time::sleep(RELAY_POLL) => {}
        }
    }
    tracing::info!("outbox relay stopped");
}

async fn gauges(store: JobStore, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(GAUGE_INTERVAL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Ok(lag) = store.outbox_lag().await {
            metrics::outbox_lag(lag);
        }
        if let Ok(depth) = store.depth().await {
            metrics::depth(&depth, &JobState::ALL);
        }
    }
}
