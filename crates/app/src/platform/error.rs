//! The contract's error vocabulary, shared by every layer: machine-readable codes with their
//! statuses, field errors, and the input errors platform code reports. The HTTP edge
//! (`http::error::ApiError`) renders them.

use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Machine-readable error codes of the contract (`../shared/API.md`), plus the few it is silent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationFailed,
    InvalidToken,
    Unauthorized,
    InvalidCredentials,
    TokenReused,
    Forbidden,
    QuotaExceeded,
    NotFound,
    MethodNotAllowed,
    /// The request target is over 8 KiB (414).
    UriTooLong,
    /// More than 100 header fields, or more than 16 KiB of them (431).
    HeadersTooLarge,
    EmailTaken,
    /// The resource is not in a state that allows this (a running job cannot be deleted, a
    /// done job cannot be retried) (409).
    InvalidState,
    IdempotencyInProgress,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// A `Range` outside the file (416).
    RangeNotSatisfiable,
    IdempotencyKeyMismatch,
    SyncExpired,
    UpgradeRequired,
    RateLimited,
    AccountLocked,
    Internal,
    ServiceUnavailable,
    Timeout,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            ValidationFailed | InvalidToken => StatusCode::BAD_REQUEST,
            Unauthorized | InvalidCredentials | TokenReused => StatusCode::UNAUTHORIZED,
            Forbidden | QuotaExceeded => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            UriTooLong => StatusCode::URI_TOO_LONG,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            EmailTaken | InvalidState | IdempotencyInProgress => StatusCode::CONFLICT,
            SyncExpired => StatusCode::GONE,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            IdempotencyKeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            RateLimited | AccountLocked => StatusCode::TOO_MANY_REQUESTS,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// One failed field: `path` is dotted (`device.name`, `operations[3].body.name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Input that a platform helper refuses (a bad cursor, say), named by the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InvalidInput {
    pub path: &'static str,
    pub message: &'static str,
}

impl InvalidInput {
    pub fn new(path: &'static str, message: &'static str) -> Self {
        Self { path, message }
    }
}
