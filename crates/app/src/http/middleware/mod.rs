//! The middleware around every route, outermost first as `router.rs` layers them: request
//! context, security headers, CORS, head limits, (compression), identify (in `auth`), rate
//! limit, client version. `draining` closes connections once the process is stopping.

pub mod app_version;
pub mod cors;
pub mod draining;
pub mod head_limits;
pub mod rate_limit;
pub mod request_context;
pub mod security_headers;
