//! Background work across processes, with the real binary: scheduled tasks run once per period
//! however many workers there are.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use support::postgres::{TestDatabase, database_url, require_services};
use support::{SECRET, Spawned, aios, text};

/// Every scheduled-task run in a JSON log: `(task, period)`.
fn runs(log: &str) -> Vec<(String, u64)> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["message"] == "scheduled task ran")
        .filter_map(|entry| {
            Some((
                entry["task"].as_str()?.to_owned(),
                entry["period"].as_u64()?,
            ))
        })
        .collect()
}

fn worker(dir: &std::path::Path, database_url: Option<&str>) -> Command {
    let mut command = aios(dir);
    command
        .env("JWT_SECRET", SECRET)
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .env("MAINTENANCE_SCHEDULE", "* * * * * *")
        .env("TOMBSTONE_PURGE_SCHEDULE", "* * * * * *")
        .env("JOBS_POLL_INTERVAL_MS", "100");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.arg("worker");
    command
}

fn two_workers_run_each_period_once(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    // Migrated once up front, so that the two do not start by racing for the schema.
    let mut migrate = aios(dir.path());
    if let Some(url) = database_url {
        migrate.env("DATABASE_URL", url);
    }
    let migrated = migrate.arg("migrate").output().unwrap();
    assert!(migrated.status.success(), "{}", text(&migrated));

    let mut first = Spawned::start(&mut worker(dir.path(), database_url));
    let mut second = Spawned::start(&mut worker(dir.path(), database_url));
    std::thread::sleep(Duration::from_secs(7));
    for process in [&mut first, &mut second] {
        let status = process.terminate(Duration::from_secs(20));
        assert!(
            status.is_some_and(|s| s.success()),
            "{status:?}\n{}",
            process.log()
        );
    }
    let (first, second) = (runs(&first.log()), runs(&second.log()));
    let mut per_period: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for run in first.iter().chain(&second) {
        *per_period.entry(run.clone()).or_default() += 1;
    }
    let twice: Vec<_> = per_period.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "periods run more than once: {twice:?}");
    for task in ["purge_expired", "purge_tombstones"] {
        let periods = per_period.keys().filter(|(name, _)| name == task).count();
        assert!(
            periods >= 3,
            "{task} ran for {periods} periods in 7 s: {per_period:?}"
        );
    }
}

#[test]
fn two_workers_on_sqlite_run_each_scheduled_period_once() {
    two_workers_run_each_period_once(None);
}

#[test]
fn two_workers_on_postgres_run_each_scheduled_period_once() {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return;
    }
    let database = TestDatabase::create().expect("a test database");
    two_workers_run_each_period_once(Some(&database.url));
}
