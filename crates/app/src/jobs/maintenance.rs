//! Deletes what has outlived its use: idempotency keys after 24 h, what auth keeps once it has
//! ended (`auth::account::purge_expired`), email-change records after 90 days, processed
//! outbox events after a week, and done jobs after `JOBS_RETENTION_DAYS`.

use chrono::TimeDelta;

use crate::platform::config::Config;
use crate::platform::jobs::outbox;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::platform::{clock, idempotency};
use crate::state::AppState;

/// Processed outbox events are kept a week, for tracing what a job did.
const KEEP_PROCESSED: TimeDelta = TimeDelta::days(7);

pub struct PurgeExpired;

#[async_trait::async_trait]
impl ScheduledTask for PurgeExpired {
    fn name(&self) -> &'static str {
        "purge_expired"
    }

    fn schedule(&self, config: &Config) -> String {
        config.jobs.maintenance_schedule.clone()
    }

    async fn run(&self, app: &AppState) -> anyhow::Result<()> {
        let now = clock::now();
        let db = &*app.db;
        let keys = idempotency::purge_expired(db, now).await?;
        let auth = crate::auth::account::purge_expired(db, now).await?;
        let email_changes = crate::users::service::purge_email_changes(db, now).await?;
        let events = outbox::purge_processed(db, now - KEEP_PROCESSED).await?;
        let retention = TimeDelta::from_std(app.config.jobs.retention).unwrap_or(KEEP_PROCESSED);
        let jobs = app.jobs.purge_done(now - retention).await?;
        tracing::debug!(
            keys,
            sessions = auth.sessions,
            tokens = auth.tokens,
            throttles = auth.throttles,
            email_changes,
            events,
            jobs,
            "purged expired records"
        );
        Ok(())
    }
}
