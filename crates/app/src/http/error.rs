//! The one error type at the HTTP edge. Every feature error converts into [`ApiError`], which
//! renders the contract's body `{error, code, details?, requestId}`.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::middleware::{rate_limit, request_context};
use crate::platform::error::{ErrorCode, FieldError, InvalidInput};
use crate::platform::rate_limit::Budget;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human readable message, safe to show.
    #[schema(example = "Validation failed")]
    pub error: Cow<'static, str>,
    pub code: ErrorCode,
    /// Present on validation errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<Vec<FieldError>>,
    /// The `X-Request-Id` of the request, to quote when reporting a problem.
    pub request_id: String,
}

/// An error on its way to becoming a response. 5xx errors carry their cause for the log only.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub details: Option<Vec<FieldError>>,
    pub retry_after_secs: Option<u64>,
    /// The budget a `429 RATE_LIMITED` ran out of: its `RateLimit-*` headers describe it.
    pub rate_limit: Option<Budget>,
    source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
            rate_limit: None,
            source: None,
        }
    }

    /// `429 RATE_LIMITED` for the exhausted `budget`, with its headers and `Retry-After`.
    pub fn rate_limited(budget: Budget, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            retry_after_secs: Some(budget.retry_after_secs.unwrap_or(1).max(1)),
            rate_limit: Some(budget),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        Self {
            details: Some(details),
            ..Self::new(ErrorCode::ValidationFailed, "Validation failed")
        }
    }

    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(path, message)])
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Not found")
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "Authentication required")
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "You are not allowed to do this")
    }

    /// An unexpected failure: the cause is logged with the request id, never shown.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(ErrorCode::Internal, "Internal server error")
        }
    }

    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            retry_after_secs: Some(5),
            ..Self::new(
                ErrorCode::ServiceUnavailable,
                "Service temporarily unavailable, try again shortly",
            )
        }
    }

    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if crate::platform::db::is_unavailable(&err) {
            Self::unavailable(err)
        } else {
            Self::internal(err)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let request_id = request_context::current_request_id().unwrap_or_default();
        if status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(
                    request_id = %request_id, code = ?self.code, error = format!("{source:#}"),
                    "request failed"
                ),
                None => {
                    tracing::error!(request_id = %request_id, code = ?self.code, "request failed")
                }
            }
        }
        let body = ErrorBody {
            error: self.message,
            code: self.code,
            details: self.details,
            request_id,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(budget) = self.rate_limit {
            rate_limit::set_headers(headers, budget);
        }
        if self.code == ErrorCode::Unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // Marks the response so the outer layers know the body is already in the contract's shape.
        response.extensions_mut().insert(RenderedError(self.code));
        response
    }
}

/// Extension on responses produced by [`ApiError`].
#[derive(Debug, Clone, Copy)]
pub struct RenderedError(pub ErrorCode);

impl From<InvalidInput> for ApiError {
    fn from(err: InvalidInput) -> Self {
        Self::field(err.path, err.message)
    }
}
