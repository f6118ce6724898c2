//! Platform code every feature builds on: configuration, database, cache, errors, extractors,
//! middleware, telemetry, OpenAPI and background work.

pub mod app_version;
pub mod cache;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod cors;
pub mod db;
pub mod entropy;
pub mod error;
pub mod extract;
pub mod http_limits;
pub mod http_server;
pub mod idempotency;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod pagination;
pub mod private_fs;
pub mod rate_limit;
pub mod request_context;
pub mod security_headers;
pub mod serde_ext;
pub mod shutdown;
pub mod telemetry;
pub mod text;
pub mod worker;
