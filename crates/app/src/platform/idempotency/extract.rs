//! The HTTP side of `Idempotency-Key`: the header, and the replayed response.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use crate::platform::error::ApiError;

pub const HEADER: &str = "idempotency-key";

/// The optional `Idempotency-Key` header, validated (1..255 visible ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(Self(None));
        };
        let key = value.to_str().ok().filter(|k| {
            (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
        match key {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(ApiError::field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )),
        }
    }
}

/// The stored answer, sent again with `Idempotent-Replayed: true`.
pub fn replay_response(
    status: u16,
    body: Vec<u8>,
    headers: &[(String, String)],
    no_store: bool,
) -> Result<Response, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .header("content-type", "application/json")
        .header("idempotent-replayed", "true");
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response = response.header(name, value);
        }
    }
    if no_store {
        response = response.header("cache-control", "no-store");
    }
    response.body(Body::from(body)).map_err(ApiError::internal)
}
