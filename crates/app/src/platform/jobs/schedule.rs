//! Scheduled tasks on apalis-cron, each run once per period across all processes: every process
//! that runs workers turns the task's cron schedule into ticks and queues the tick's run with the
//! period as its idempotency key; the second process to queue a period finds it queued already.

use std::str::FromStr as _;
use std::sync::Arc;

use futures::StreamExt as _;

use super::spec::JobSpec;
use super::store::JobStore;
use crate::platform::config::Config;
use crate::state::AppState;

/// A task run on a schedule.
#[async_trait::async_trait]
pub trait ScheduledTask: Send + Sync {
    /// Stable: the task's queue is `cron:<name>`.
    fn name(&self) -> &'static str;
    /// A cron expression with seconds (`0 */10 * * * *`: every ten minutes), in UTC; from the
    /// configuration, so operators can move it.
    fn schedule(&self, config: &Config) -> String;
    fn spec(&self) -> JobSpec {
        JobSpec {
            concurrency: 1,
            timeout: std::time::Duration::from_secs(300),
            max_attempts: 3,
            ..JobSpec::default()
        }
    }
    async fn run(&self, app: &AppState) -> anyhow::Result<()>;
}

pub fn queue_of(task: &dyn ScheduledTask) -> String {
    format!("cron:{}", task.name())
}

/// Queues each tick of `task`'s schedule until `stop`; runs in every process with workers.
pub async fn queue_ticks(
    store: JobStore,
    task: Arc<dyn ScheduledTask>,
    schedule: String,
    stop: tokio_util::sync::CancellationToken,
) {
    let schedule = match cron::Schedule::from_str(&schedule) {
        Ok(schedule) => schedule,
        Err(err) => {
            tracing::error!(task = task.name(), error = %err, "invalid cron schedule; task disabled");
            return;
        }
    };
    let queue = queue_of(task.as_ref());
    let mut ticks = apalis_cron::CronScheduler::new(schedule)
        .with_timezone(chrono::Utc)
        .into_stream();
    loop {
        let tick = tokio::select! {
            () = stop.cancelled() => return,
            tick = ticks.next() => tick,
        };
        let Some(Ok(tick)) = tick else {
            return;
        };
        let period = tick.get_timestamp();
        let key = format!("{}:{period}", task.name());
        let payload = serde_json::json!({ "period": period });
        match store
            .push_unique(&queue, &key, &payload, task.spec().max_attempts)
            .await
        {
            Ok(true) => tracing::debug!(task = task.name(), period, "scheduled task queued"),
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(task = task.name(), error = %err, "could not queue a scheduled task")
            }
        }
    }
}
