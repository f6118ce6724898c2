//! The scheduled backup (`BACKUP_SCHEDULE`, off by default): a snapshot of the embedded
//! database and the local uploads under `BACKUP_DIR`, keeping `BACKUP_KEEP` of them.

use crate::platform::backup;
use crate::platform::config::Config;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::platform::jobs::spec::JobSpec;
use crate::state::AppState;

pub struct ScheduledBackup;

#[async_trait::async_trait]
impl ScheduledTask for ScheduledBackup {
    fn name(&self) -> &'static str {
        "backup"
    }

    /// Empty (never) unless `BACKUP_SCHEDULE` is set.
    fn schedule(&self, config: &Config) -> String {
        config.backup.schedule.clone().unwrap_or_default()
    }

    fn spec(&self) -> JobSpec {
        JobSpec {
            concurrency: 1,
            // Copying a large upload directory takes a while; a retry starts over.
            timeout: std::time::Duration::from_secs(3600),
            max_attempts: 2,
            ..JobSpec::default()
        }
    }

    async fn run(&self, app: &AppState) -> anyhow::Result<()> {
        backup::create_scheduled(&app.db, &app.config).await?;
        Ok(())
    }
}
