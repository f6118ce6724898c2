//! Background work: the outbox relay (events to their handlers, at least once) and scheduled
//! maintenance. Runs inside `serve` when `JOBS_IN_PROCESS=true` (the default) and in the
//! `worker` command; any number of workers may run against one database.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::error::JobError;
use super::event::{Delivery, ErasedHandler, EventHandlers};
use super::outbox;
use crate::platform::{clock, db};
use crate::state::AppState;

/// A task run every `interval`, and once when the worker starts.
#[async_trait::async_trait]
pub trait ScheduledTask: Send + Sync {
    fn name(&self) -> &'static str;
    fn interval(&self) -> Duration;
    async fn run(&self, app: &AppState) -> anyhow::Result<()>;
}

const CLAIM_BATCH: u64 = 20;
const LEASE: TimeDelta = TimeDelta::seconds(60);
const POLL_INTERVAL: Duration = Duration::from_millis(500);
const MAX_ATTEMPTS: i32 = 10;

pub struct Worker {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Worker {
    pub fn start(
        app: AppState,
        handlers: EventHandlers,
        scheduled: Vec<Arc<dyn ScheduledTask>>,
    ) -> Self {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(relay(app.clone(), Arc::new(handlers), cancel.clone()));
        for task in scheduled {
            tasks.spawn(schedule(app.clone(), task, cancel.clone()));
        }
        Self { cancel, tasks }
    }

    /// Stops taking new work and waits (up to `timeout`) for the current item to finish. An
    /// event interrupted mid-way is delivered again when its lease expires.
    pub async fn stop(mut self, timeout: Duration) {
        self.cancel.cancel();
        let drained = tokio::time::timeout(timeout, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("background work still running at shutdown; aborting it");
            self.tasks.abort_all();
        }
    }
}

async fn relay(app: AppState, handlers: Arc<EventHandlers>, cancel: CancellationToken) {
    let types: Vec<&str> = handlers.names();
    if types.is_empty() {
        return;
    }
    tracing::info!(events = ?types, "outbox relay started");
    while !cancel.is_cancelled() {
        let claimed = match claim(&app, &types).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "outbox claim failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = app.outbox_signal.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            continue;
        }
        for event in claimed {
            let Some(handler) = handlers.get(event.event_type.as_str()) else {
                continue;
            };
            deliver(&app, handler.as_ref(), &event).await;
        }
    }
    tracing::info!("outbox relay stopped");
}

async fn claim(app: &AppState, types: &[&str]) -> anyhow::Result<Vec<outbox::OutboxEvent>> {
    let txn = db::begin_write(&app.db).await?;
    let events = outbox::claim(&txn, types, CLAIM_BATCH, clock::now() + LEASE).await?;
    txn.commit().await?;
    Ok(events)
}

async fn deliver(app: &AppState, handler: &dyn ErasedHandler, event: &outbox::OutboxEvent) {
    let span = tracing::info_span!("event", event_id = %event.id, event_type = %event.event_type,
        attempt = event.attempts);
    let delivery = Delivery {
        event_id: event.id,
        attempt: event.attempts,
    };
    let outcome = handler
        .handle_json(app, event.payload.clone(), delivery)
        .instrument(span.clone())
        .await;
    let recorded = match outcome {
        Ok(()) => {
            metrics::counter!("outbox_events_processed_total", "event" => event.event_type.clone())
                .increment(1);
            outbox::mark_processed(&*app.db, event.id).await
        }
        Err(err) => {
            let message = err.to_string();
            let now = clock::now();
            let delay = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::hours(1));
            let (retry_at, attempts_back) = match &err {
                JobError::Permanent(_) => (None, 0),
                // The provider is down: wait for it without spending the attempt.
                JobError::Defer { after, .. } => (Some(now + delay(*after)), 1),
                JobError::Retry { retry_after, .. } => {
                    let backoff = 2i64
                        .saturating_pow(event.attempts.clamp(0, 12) as u32)
                        .min(3600);
                    let wait = retry_after.map_or(TimeDelta::seconds(backoff), delay);
                    ((event.attempts < MAX_ATTEMPTS).then(|| now + wait), 0)
                }
            };
            metrics::counter!("outbox_events_failed_total", "event" => event.event_type.clone())
                .increment(1);
            if retry_at.is_some() {
                tracing::warn!(parent: &span, error = %message, "event handler failed; will retry");
            } else {
                tracing::error!(parent: &span, error = %message, "event handler failed; giving up");
            }
            outbox::mark_failed(&*app.db, event.id, &message, retry_at, attempts_back).await
        }
    };
    if let Err(err) = recorded {
        tracing::warn!(parent: &span, error = %err, "could not record the event outcome; it will be retried");
    }
}

async fn schedule(app: AppState, task: Arc<dyn ScheduledTask>, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(task.interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if let Err(err) = task.run(&app).await {
            tracing::warn!(task = task.name(), error = %format!("{err:#}"), "scheduled task failed");
        }
    }
}
