//! The settings of the background workers.

use std::time::Duration;

use super::Vars;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// Jobs running at once in one process, all queues together.
    pub worker_concurrency: usize,
    /// How often an idle worker looks for jobs.
    pub poll_interval: Duration,
    /// How long the jobs of a worker that stopped heart-beating (a killed process) wait before
    /// another worker runs them.
    pub lease: Duration,
    /// Connections of the job queue's own pool (at most 2 on SQLite).
    pub pool_size: u32,
    /// How long finished jobs are kept (to be seen in the admin API) before they are purged.
    pub retention: Duration,
    /// When the maintenance purge runs (cron with seconds, UTC).
    pub maintenance_schedule: String,
    /// When tombstones past `SYNC_RETENTION_DAYS` are purged.
    pub tombstone_purge_schedule: String,
    /// When stored objects that no file row names are swept away.
    pub file_sweep_schedule: String,
}

impl Vars {
    pub(super) fn jobs(&mut self) -> JobsConfig {
        JobsConfig {
            worker_concurrency: self.ranged("WORKER_CONCURRENCY", 16, 1, 10_000) as usize,
            poll_interval: Duration::from_millis(self.ranged(
                "JOBS_POLL_INTERVAL_MS",
                200,
                10,
                60_000,
            )),
            lease: self.secs("JOBS_LEASE_SECS", 30, 2, 3600),
            pool_size: self.ranged("JOBS_POOL_SIZE", 4, 1, 100) as u32,
            retention: Duration::from_secs(86_400 * self.ranged("JOBS_RETENTION_DAYS", 7, 1, 3650)),
            maintenance_schedule: self.cron("MAINTENANCE_SCHEDULE", "0 */10 * * * *"),
            tombstone_purge_schedule: self.cron("TOMBSTONE_PURGE_SCHEDULE", "0 0 * * * *"),
            file_sweep_schedule: self.cron("FILE_SWEEP_SCHEDULE", "0 */30 * * * *"),
        }
    }

    /// A cron expression with seconds (`sec min hour day month weekday`), checked now so that a
    /// typo stops the start-up rather than silently never running the task.
    pub(super) fn cron(&mut self, var: &'static str, default: &str) -> String {
        use std::str::FromStr as _;
        let value = self.string(var, default);
        if cron::Schedule::from_str(&value).is_err() {
            self.fail(
                var,
                format!("{value:?} is not a cron schedule with seconds, like \"0 */10 * * * *\""),
            );
            return default.to_owned();
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn job_settings_have_defaults_and_ranges() {
        let config = Config::from_vars(Vec::new()).ok();
        let jobs = config.as_ref().map(|c| c.jobs.clone());
        assert_eq!(jobs.as_ref().map(|j| j.worker_concurrency), Some(16));
        assert_eq!(jobs.as_ref().map(|j| j.lease.as_secs()), Some(30));
        assert_eq!(
            jobs.map(|j| j.maintenance_schedule),
            Some("0 */10 * * * *".to_owned())
        );
        let refused = Config::from_vars(vec![
            ("WORKER_CONCURRENCY".to_owned(), "0".to_owned()),
            ("JOBS_LEASE_SECS".to_owned(), "1".to_owned()),
            (
                "MAINTENANCE_SCHEDULE".to_owned(),
                "every ten minutes".to_owned(),
            ),
        ]);
        let vars: Vec<&str> = match &refused {
            Err(super::super::ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
            Ok(_) => Vec::new(),
        };
        assert_eq!(
            vars,
            [
                "WORKER_CONCURRENCY",
                "JOBS_LEASE_SECS",
                "MAINTENANCE_SCHEDULE"
            ]
        );
    }
}
