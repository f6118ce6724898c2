//! aios-server: the backend REST API for mobile apps. The binary (`crates/server`) is a thin
//! command-line wrapper around this library; the integration tests link against it too.

pub mod app;
pub mod auth;
pub mod items;
pub mod jobs;
pub mod operations;
pub mod platform;
pub mod router;
pub mod users;

pub use app::{AppState, Overrides, Server};
pub use platform::config::Config;
