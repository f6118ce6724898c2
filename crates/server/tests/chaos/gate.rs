//! When the chaos tests run, and for how long: they need the PostgreSQL server binaries and
//! `redis-server`, and run once per CI, in the run with services (`TEST_DATABASE_URL` set).
//! `CHAOS_LONG=1` stretches every fault to the figures of issue 15.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::postgres;

/// The absolute path of `name` on `PATH` (or, for PostgreSQL's tools, in Debian's
/// `/usr/lib/postgresql/<version>/bin`).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    from_path.or_else(|| {
        let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
        versions
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin").join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// True when the test may run: services are there (`TEST_DATABASE_URL`) and so are `tools`.
/// Skips with a message otherwise; with `REQUIRE_SERVICES=1` a missing tool fails the test.
pub fn may_run(test: &str, tools: &[&str]) -> bool {
    if postgres::database_url().is_none() {
        eprintln!("skipped {test}: chaos tests run with the services (set TEST_DATABASE_URL)");
        return false;
    }
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| find_tool(tool).is_none())
        .collect();
    postgres::require_services(
        &format!("{} on PATH", missing.join(", ")),
        missing.is_empty(),
    )
}

/// Held by each test for its whole run: the scenarios measure latencies and recovery times, and
/// two of them loading one 2-core machine at once would measure each other.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn long() -> bool {
    std::env::var("CHAOS_LONG").is_ok_and(|v| v == "1")
}

/// `short` in CI, `long` with `CHAOS_LONG=1`.
pub fn lasting(short: Duration, long_: Duration) -> Duration {
    if long() { long_ } else { short }
}

/// Server variables every chaos test uses: budgets far above the load (the load is not what is
/// being tested) and a request deadline short enough that a hung request shows within a run.
pub const SERVER_VARS: &[(&str, &str)] = &[
    ("RATE_LIMIT_USER_PER_MIN", "10000000"),
    ("RATE_LIMIT_ANON_PER_MIN", "10000000"),
    ("RATE_LIMIT_AUTH_PER_MIN", "10000000"),
    ("REQUEST_TIMEOUT_SECS", "10"),
    ("DATABASE_POOL_SIZE", "5"),
];
