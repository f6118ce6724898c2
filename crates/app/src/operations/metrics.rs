use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::http::bearer::bearer_token;
use crate::http::error::ApiError;
use crate::http::middleware::request_context;
use crate::platform::{db, metrics};
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
    render(&app, &headers).await
}

/// `/metrics` on the `METRICS_ADDR` listener.
pub async fn metrics_listener(State(app): State<AppState>, headers: HeaderMap) -> Response {
    render(&app, &headers).await
}

async fn render(app: &AppState, headers: &HeaderMap) -> Response {
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
    let process = tokio::task::spawn_blocking(metrics::process::sample)
        .await
        .unwrap_or_default();
    let pools = db::pool_stats(&app.db, &app.jobs);
    let mut text = metrics::render();
    metrics::sampled::render(&mut text, &pools, &process);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
