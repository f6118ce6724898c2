//! Infrastructure every feature builds on: configuration, database, cache, secrets and tokens,
//! password hashing, mail, push providers, rate-limit budgets, idempotency keys, background
//! jobs, telemetry.
//! Nothing here uses axum or any feature module: the HTTP edge is `http/`.

pub mod backup;
pub mod breaker;
pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
mod db_faults;
pub mod entropy;
pub mod error;
pub mod error_tracking;
pub mod idempotency;
pub mod jobs;
pub mod jwt;
pub mod mail;
pub mod metrics;
pub mod pagination;
pub mod password_hash;
pub mod private_fs;
pub mod push;
pub mod rate_limit;
pub mod secrets;
pub mod serde_ext;
pub mod shutdown;
pub mod sniff;
pub mod storage;
pub mod telemetry;
pub mod text;
pub mod tls;
pub mod version;
