//! The outermost middleware: gives every request an id, a span, a log line and metrics; turns
//! panics and timeouts into contract errors; and makes sure every error body has the contract's
//! shape, whichever layer produced it.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tracing::Instrument;

use crate::http::error::{ApiError, RenderedError};
use crate::platform::error::ErrorCode;
use crate::platform::error_tracking::{ErrorTracker, RequestFailure};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served by this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Request ids from clients are echoed only when they are short and plain, so they cannot
/// inject anything into logs or headers.
fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| value.to_owned())
}

#[derive(Clone)]
pub struct RequestContextConfig {
    pub request_timeout: Duration,
    /// Routes that replace `request_timeout` with their own (uploads).
    pub route_timeouts: std::sync::Arc<[RouteTimeout]>,
    /// Where 5xx answers and panics are reported (Sentry), if anywhere.
    pub errors: ErrorTracker,
}

/// A timeout of its own for one method on one route template.
#[derive(Debug, Clone)]
pub struct RouteTimeout {
    pub method: axum::http::Method,
    pub route: &'static str,
    pub timeout: Duration,
}

impl RequestContextConfig {
    fn timeout_of(&self, method: &axum::http::Method, route: &str) -> Duration {
        self.route_timeouts
            .iter()
            .find(|t| t.method == method && t.route == route)
            .map_or(self.request_timeout, |t| t.timeout)
    }
}

pub async fn request_context(
    State(config): State<RequestContextConfig>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let _in_flight = crate::platform::metrics::InFlight::start();
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    let method = request.method().clone();
    // The route template, never the raw path: raw paths carry ids and would explode metrics.
    // The fallback (any unknown path) has no `MatchedPath`; a 405 has its path's template.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);

    let timeout = config.timeout_of(&method, &route);
    let guarded = async move {
        let handled = AssertUnwindSafe(tokio::time::timeout(timeout, next.run(request)))
            .catch_unwind()
            .await;
        match handled {
            Ok(Ok(response)) => (normalize_error(response), None),
            Ok(Err(_elapsed)) => (
                ApiError::new(ErrorCode::Timeout, "The request took too long").into_response(),
                None,
            ),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                let response = ApiError::internal(anyhow::anyhow!("handler panicked: {message}"))
                    .into_response();
                (response, Some(message))
            }
        }
    };
    let (mut response, panic) = REQUEST_ID
        .scope(request_id.clone(), guarded.instrument(span.clone()))
        .await;

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    let status = response.status().as_u16();
    let latency = started.elapsed();
    // The health checks answer 503 on purpose (not ready, shutting down): not an error.
    if status >= 500 && !route.starts_with("/health") {
        config.errors.request_failed(&RequestFailure {
            request_id: &request_id,
            method: method.as_str(),
            route: &route,
            status,
            panic: panic.as_deref(),
        });
    }
    crate::platform::metrics::record_request(method.as_str(), &route, status, latency);
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "{method} {route} {status}"
        );
    });
    response
}

/// Errors produced outside our handlers (axum's own rejections, tower-http layers) arrive with
/// plain-text or empty bodies; they are re-rendered in the contract's format.
fn normalize_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error())
        || is_json
        || response.extensions().get::<RenderedError>().is_some()
    {
        return response;
    }
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::HeadersTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Timeout,
        s if s.is_client_error() => ErrorCode::ValidationFailed,
        _ => ErrorCode::Internal,
    };
    let message = match code {
        ErrorCode::NotFound => "Not found",
        ErrorCode::MethodNotAllowed => "Method not allowed",
        ErrorCode::PayloadTooLarge => "Request body too large",
        ErrorCode::UriTooLong => "Request URI too long",
        ErrorCode::HeadersTooLarge => "Request headers too large",
        ErrorCode::UnsupportedMediaType => "Unsupported content type",
        ErrorCode::ValidationFailed => "Bad request",
        _ => "Request failed",
    };
    let mut error = ApiError::new(code, message);
    if code == ErrorCode::Internal {
        error = ApiError::internal(anyhow::anyhow!("unrendered {status} response"));
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut rendered = error.into_response();
    if let Some(allow) = allow {
        rendered.headers_mut().insert(header::ALLOW, allow);
    }
    rendered
}

/// The 404 for unknown routes.
pub async fn not_found_fallback() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route")
}

/// The 405 for known routes called with another method.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "Method not allowed")
}
