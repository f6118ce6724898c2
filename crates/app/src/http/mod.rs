//! The HTTP edge: how requests come in (the accept loop, middleware, extractors that validate
//! before any query) and how results go out (`ApiError` rendered as the contract's error body,
//! the OpenAPI document). The only place outside feature routes where axum types live.

pub mod bearer;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod public_base;
pub mod server;
