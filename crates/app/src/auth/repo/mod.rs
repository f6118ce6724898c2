//! Queries of the auth feature: sessions, refresh tokens, single-use user tokens, and the
//! failed-login throttle.

pub mod refresh_tokens;
pub mod sessions;
pub mod throttle;
pub mod user_tokens;
