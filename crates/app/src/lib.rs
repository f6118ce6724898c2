//! aios-server: the backend REST API for mobile apps. The binary (`crates/server`) is a thin
//! command-line wrapper around this library; the integration tests link against it too.
//!
//! The layers, and who may use whom (`docs/ARCHITECTURE.md`):
//! - `platform/`: infrastructure with no HTTP types and no knowledge of any feature;
//! - `http/`: the HTTP edge (errors as responses, extractors, middleware, the accept loop);
//! - the features (`auth`, `users`, `items`, `files`, `devices`, `notifications`,
//!   `operations`, `jobs`), which use both and talk to
//!   each other through their services;
//! - `state.rs` (what everything shares), `router.rs` and `server.rs` (the wiring).

pub mod auth;
pub mod devices;
pub mod files;
pub mod http;
pub mod items;
pub mod jobs;
pub mod notifications;
pub mod operations;
pub mod platform;
pub mod router;
pub mod server;
pub mod state;
pub mod users;

pub use platform::config::Config;
pub use server::Server;
pub use state::{AppState, Overrides};
