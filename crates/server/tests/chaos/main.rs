//! Fault injection on the real binary: the faults a test can cause itself and the figures that
//! say nothing was lost. Short versions run in CI; `CHAOS_LONG=1` runs the long ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

#[path = "../support/mod.rs"]
mod support;

mod disk_full;
mod proc_support;
mod process_sigkill;
mod process_sigkill_upload;
mod process_sigterm;
mod providers;
mod providers_peer;
