//! Deletes what has outlived its use: idempotency keys after 24 h, failed-login counters a day
//! after their last failure (unless locked), ended sessions, spent email tokens and processed
//! outbox events after a week.

use std::time::Duration;

use chrono::TimeDelta;

use crate::auth::repo::{sessions, throttle, user_tokens};
use crate::platform::jobs::outbox;
use crate::platform::jobs::runner::ScheduledTask;
use crate::platform::{clock, idempotency};
use crate::state::AppState;

const KEEP_ENDED: TimeDelta = TimeDelta::days(7);

pub struct PurgeExpired;

#[async_trait::async_trait]
impl ScheduledTask for PurgeExpired {
    fn name(&self) -> &'static str {
        "purge_expired"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(600)
    }

    async fn run(&self, app: &AppState) -> anyhow::Result<()> {
        let now = clock::now();
        let db = &*app.db;
        let keys = idempotency::purge_expired(db, now).await?;
        let sessions = sessions::purge_ended(db, now - KEEP_ENDED).await?;
        let tokens = user_tokens::purge_spent(db, now - KEEP_ENDED).await?;
        let throttles = throttle::purge_stale(db, now - TimeDelta::days(1)).await?;
        let events = outbox::purge_processed(db, now - KEEP_ENDED).await?;
        tracing::debug!(
            keys,
            sessions,
            tokens,
            throttles,
            events,
            "purged expired records"
        );
        Ok(())
    }
}
