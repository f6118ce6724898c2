//! The settings of scheduled backups (`aios-server backup` itself needs none).

use std::path::{Path, PathBuf};

use super::Vars;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// When the worker writes a backup (cron with seconds, UTC); `None`: never (the default).
    pub schedule: Option<String>,
    /// Where scheduled backups go, one directory each.
    pub dir: PathBuf,
    /// Scheduled backups kept; older ones are deleted after each new one.
    pub keep: usize,
}

impl Vars {
    pub(super) fn backup(&mut self, data_dir: &Path, postgres: bool) -> BackupConfig {
        let schedule = self
            .raw("BACKUP_SCHEDULE")
            .is_some()
            .then(|| self.cron("BACKUP_SCHEDULE", "0 0 3 * * *"));
        if schedule.is_some() && postgres {
            self.fail(
                "BACKUP_SCHEDULE",
                "backs up the embedded SQLite database only; with DATABASE_URL back up \
                 PostgreSQL with pg_dump (or your provider's snapshots) instead",
            );
        }
        BackupConfig {
            schedule,
            dir: self
                .raw("BACKUP_DIR")
                .map_or_else(|| data_dir.join("backups"), PathBuf::from),
            keep: self.ranged("BACKUP_KEEP", 7, 1, 10_000) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn backups_are_off_by_default_and_refused_on_postgres() {
        let config = Config::from_vars(vars(&[("DATA_DIR", "/srv/aios")])).ok();
        let backup = config.map(|c| c.backup);
        assert_eq!(backup.as_ref().and_then(|b| b.schedule.clone()), None);
        assert_eq!(
            backup.as_ref().map(|b| b.dir.clone()),
            Some("/srv/aios/backups".into())
        );
        assert_eq!(backup.map(|b| b.keep), Some(7));

        let on = Config::from_vars(vars(&[
            ("BACKUP_SCHEDULE", "0 30 2 * * *"),
            ("BACKUP_DIR", "/backups"),
            ("BACKUP_KEEP", "3"),
        ]))
        .ok()
        .map(|c| c.backup);
        assert_eq!(
            on,
            Some(super::BackupConfig {
                schedule: Some("0 30 2 * * *".to_owned()),
                dir: "/backups".into(),
                keep: 3,
            })
        );

        let refused = Config::from_vars(vars(&[
            ("BACKUP_SCHEDULE", "nightly"),
            ("BACKUP_KEEP", "0"),
        ]));
        let bad: Vec<&str> = match &refused {
            Err(ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
            Ok(_) => Vec::new(),
        };
        assert_eq!(bad, ["BACKUP_SCHEDULE", "BACKUP_KEEP"]);

        let postgres = Config::from_vars(vars(&[
            ("DATABASE_URL", "postgres://db.example.com/aios"),
            ("BACKUP_SCHEDULE", "0 0 3 * * *"),
        ]));
        let bad: Vec<&str> = match &postgres {
            Err(ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
            Ok(_) => Vec::new(),
        };
        assert_eq!(bad, ["BACKUP_SCHEDULE"]);
    }
}
