//! Fault injection against the real binary, under load, with clients that record every request
//! and its outcome (issue 15). Each test starts what it breaks itself: a throwaway PostgreSQL
//! cluster made with `initdb`, a private `redis-server`, a tmpfs data directory, local provider
//! peers; never the shared services. The PostgreSQL and Redis scenarios run where the services
//! run (`TEST_DATABASE_URL` set); the process, disk and provider scenarios in the SQLite run.
//! `CHAOS_LONG=1` (see `scripts/chaos`) runs the long versions. Results: `docs/reliability.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

#[path = "../support/mod.rs"]
mod support;

// PostgreSQL and Redis faults, start-up with either down.
mod client;
mod gate;
mod ledger;
mod pg_cluster;
mod redis_server;
mod rig;

mod postgres_faults;
mod redis_faults;
mod startup;

// Process, disk and provider faults.
mod disk_full;
mod proc_support;
mod process_sigkill;
mod process_sigkill_upload;
mod process_sigterm;
mod providers;
mod providers_peer;
