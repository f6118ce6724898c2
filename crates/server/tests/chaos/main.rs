//! Fault injection against the real binary under load, with a client that records every request
//! (issue 15). Each test starts the servers it breaks itself: a throwaway PostgreSQL cluster made
//! with `initdb`, a private `redis-server`, never the shared ones. The tests need those binaries
//! and run where the services run (`TEST_DATABASE_URL` set); `CHAOS_LONG=1` (see `scripts/chaos`)
//! runs the long versions. Results: `docs/reliability.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

#[path = "../support/mod.rs"]
mod support;

mod client;
mod gate;
mod ledger;
mod pg_cluster;
mod redis_server;
mod rig;

mod postgres_faults;
mod redis_faults;
mod startup;
