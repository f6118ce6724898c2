//! Scheduled maintenance of the Data API: purge tombstones past `SYNC_RETENTION_DAYS`.

use chrono::TimeDelta;

use super::repo;
use crate::platform::config::Config;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::platform::{clock, db};
use crate::state::AppState;

pub struct PurgeTombstones;

/// Purges every owner's tombstones older than the retention period; returns how many.
pub async fn purge_tombstones(app: &AppState) -> anyhow::Result<u64> {
    let retention = TimeDelta::from_std(app.config.items.sync_retention)?;
    let before = clock::now() - retention;
    let mut purged = 0;
    for (owner, max_seq) in repo::expired_tombstones(&*app.db, before).await? {
        let txn = db::begin_write(&app.db).await?;
        purged += repo::purge_tombstones(&txn, owner, max_seq, before).await?;
        txn.commit().await?;
    }
    Ok(purged)
}

#[async_trait::async_trait]
impl ScheduledTask for PurgeTombstones {
    fn name(&self) -> &'static str {
        "purge_tombstones"
    }

    fn schedule(&self, config: &Config) -> String {
        config.jobs.tombstone_purge_schedule.clone()
    }

    async fn run(&self, app: &AppState) -> anyhow::Result<()> {
        let purged = purge_tombstones(app).await?;
        if purged > 0 {
            tracing::info!(purged, "purged expired tombstones");
        }
        Ok(())
    }
}
