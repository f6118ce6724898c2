//! Background work: the transactional outbox (events stored with the change that raises them)
//! and the runner that delivers them and runs scheduled tasks.

pub mod error;
pub mod event;
pub mod outbox;
pub mod runner;
