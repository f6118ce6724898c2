//! The middleware around every route, outermost first as `router.rs` layers them: request
//! context, security headers, CORS, head limits with `draining` (which closes connections once
//! the process is stopping), (compression), and the API gate: identify (in `auth`), rate limit,
//! client version.

pub mod api_gate;
pub mod app_version;
pub mod cors;
pub mod draining;
pub mod head_limits;
pub mod rate_limit;
pub mod request_context;
pub mod security_headers;
