//! The Data API: per-user items with pagination, optimistic concurrency, idempotent creation,
//! batches and delta sync.

pub mod batch;
pub mod dto;
pub mod error;
pub mod etag;
pub mod events;
pub mod jobs;
pub mod limits;
mod list_counted;
pub mod repo;
pub mod routes;
pub mod seed;
pub mod service;
mod single_statement;
pub mod sync;
