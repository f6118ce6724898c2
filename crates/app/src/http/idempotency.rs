//! The HTTP side of `Idempotency-Key` (`platform::idempotency` keeps the keys): the header, the
//! replayed response, and running a handler's work at most once per key.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::error::ApiError;
use crate::platform::error::ErrorCode;
use crate::platform::idempotency::{self, Begin, Claim, IdempotencyError, Replay};
use crate::state::AppState;

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
fn replay_response(replay: Replay) -> Result<Response, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK))
        .header("content-type", "application/json")
        .header("idempotent-replayed", "true");
    for (name, value) in &replay.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response = response.header(name, value);
        }
    }
    if replay.no_store {
        response = response.header("cache-control", "no-store");
    }
    response
        .body(Body::from(replay.body))
        .map_err(ApiError::internal)
}

impl From<IdempotencyError> for ApiError {
    fn from(err: IdempotencyError) -> Self {
        match err {
            IdempotencyError::InProgress => ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "A request with this Idempotency-Key is still being processed",
            )
            .with_retry_after(1),
            IdempotencyError::Mismatch => ApiError::new(
                ErrorCode::IdempotencyKeyMismatch,
                "This Idempotency-Key was used with a different request body",
            ),
            IdempotencyError::Unreadable => ApiError::internal(err),
            IdempotencyError::Db(err) => err.into(),
        }
    }
}

/// Runs `work` at most once per key: without a key it simply runs. `no_store` marks responses
/// that carry tokens.
pub async fn run_once<F, Fut>(
    app: &AppState,
    scope: &str,
    key: Option<String>,
    request_hash: String,
    no_store: bool,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Option<Claim>) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let Some(key) = key else {
        return work(None).await;
    };
    match idempotency::begin(app, scope, &key, request_hash, no_store).await? {
        Begin::Replay(replay) => replay_response(replay),
        Begin::Run(claim) => {
            let result = work(Some(claim.clone())).await;
            if result.is_err() {
                idempotency::release(app, &claim).await;
            }
            result
        }
    }
}
