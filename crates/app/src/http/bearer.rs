//! The `Authorization: Bearer` header, the one place tokens are read from.

use axum::http::{HeaderMap, header};

/// The token of an `Authorization: Bearer` header. Only the header: tokens in query strings end
/// up in logs and browser histories.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
