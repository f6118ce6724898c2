//! Background work: the transactional outbox (events stored with the change that raises them),
//! moved into job queues on apalis, run by per-type workers with their own limits and retry
//! policies, and scheduled tasks on apalis-cron.

mod envelope;
pub mod error;
pub mod event;
mod metrics;
pub mod outbox;
pub mod runner;
pub mod schedule;
pub mod spec;
pub mod store;
