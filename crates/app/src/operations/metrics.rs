use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::http::bearer::bearer_token;
use crate::http::error::ApiError;
use crate::http::middleware::request_context;
use crate::state::AppState;

#[utoipa::path(summary = "Prometheus metrics", get, path = "/metrics", tag = "operations",
    description = "On the main port unless `METRICS_ADDR` is set; then only on that address, \
                   and the main port answers 404.",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain"),
        (status = 401, description = "`METRICS_TOKEN` is set and the bearer token does not match",
            body = crate::http::error::ErrorBody),
        (status = 404, description = "`METRICS_ADDR` is set: metrics are served there",
            body = crate::http::error::ErrorBody),
    ))]
pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if app.config.metrics_addr.is_some() {
        return request_context::not_found_fallback().await.into_response();
    }
    render(&app, &headers)
}

/// `/metrics` on the `METRICS_ADDR` listener.
pub async fn metrics_listener(State(app): State<AppState>, headers: HeaderMap) -> Response {
    render(&app, &headers)
}

fn render(app: &AppState, headers: &HeaderMap) -> Response {
    if let Some(expected) = &app.config.metrics_token {
        let presented = bearer_token(headers).unwrap_or_default();
        let matches: bool = presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if !matches {
            return ApiError::unauthorized().into_response();
        }
    }
    let mut response = crate::platform::metrics::render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
