//! Every route in one place, and the middleware stack around them. Which URLs each feature
//! serves:
//! - `operations`: `/health`, `/health/live`, `/health/ready`, `/metrics`
//! - `auth`: `/api/auth/*` (register, login, tokens, passwords, verification, sessions)
//! - `users`: `/api/users/me` (profile, deletion, export) and `/api/users`, `/api/users/{id}`
//!   (administrators)
//! - `items`: `/api/data`, `/api/data/{id}`, `/api/data/batch`, `/api/data/changes` (the module
//!   keeps the contract's older name for data items)
//! - `jobs`: `/api/admin/jobs`, `/api/admin/jobs/{id}`, `/api/admin/jobs/{id}/retry`
//!   (administrators)
//! - `files`: `/api/files`, `/api/files/{id}`, `/api/files/{id}/content`, `/api/files/{id}/url`
//!   and `/api/files/signed/{token}` (the links that need no token)
//! - `devices`: `/api/devices`, `/api/devices/{id}`, `/api/push/vapid-public-key`
//! - `notifications`: `/api/notifications`, `/api/notifications/{id}/read`,
//!   `/api/notifications/read-all`
//! - `http::openapi`: `/api/openapi.json`, `/docs`
//! - `operations::dev_mail`: `/dev/mail`, in development with the log mail transport only

use crate::platform::error_tracking::ErrorTracker;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::header;
use axum::middleware;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::routes as auth;
use crate::devices::routes as devices;
use crate::files::routes as files;
use crate::http::middleware::head_limits as http_limits;
use crate::http::middleware::request_context::{self, RequestContextConfig, RouteTimeout};
use crate::http::middleware::security_headers::{self, SecurityHeadersConfig};
use crate::http::middleware::{api_gate, cors, draining};
use crate::http::openapi::{self, ApiDoc};
use crate::items::routes as items;
use crate::jobs::routes as jobs;
use crate::notifications::routes as notifications;
use crate::operations::{dev_mail, health, metrics};
use crate::platform::config::Config;
use crate::state::AppState;
use crate::users::routes as users;

/// The routes with their finished OpenAPI document (see `http::openapi::contract`). Used by
/// [`build`].
pub fn api(state: AppState) -> (Router, serde_json::Value) {
    let (router, document) = dev_mail::add_route(routes(), &state).split_for_parts();
    (
        router.with_state(state),
        openapi::contract::finish(document),
    )
}

/// The OpenAPI document of every route, without a running server or any configuration (what
/// `aios-server openapi` prints). The development-only `/dev/mail` is left out.
pub fn openapi_document() -> serde_json::Value {
    openapi::contract::finish(routes().split_for_parts().1)
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(metrics::metrics))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh_token))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::confirm_password_reset))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::resend_verification_email))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_session))
        .routes(routes!(users::get_me, users::update_me, users::delete_me))
        .routes(routes!(users::export_me))
        .routes(routes!(users::get_user))
        .routes(routes!(users::list_users))
        .routes(routes!(items::list_items, items::create_item))
        .routes(routes!(
            items::get_item,
            items::replace_item,
            items::delete_item
        ))
        .routes(routes!(items::batch_items))
        .routes(routes!(items::list_changes))
        .routes(routes!(files::list_files))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::content::download_file))
        .routes(routes!(files::create_file_url))
        .routes(routes!(files::content::download_signed))
        .merge(uploads())
        .routes(routes!(devices::list_devices, devices::register_device))
        .routes(routes!(devices::delete_device))
        .routes(routes!(devices::get_vapid_public_key))
        .routes(routes!(
            notifications::list_notifications,
            notifications::send_notification
        ))
        .routes(routes!(notifications::read_notification))
        .routes(routes!(notifications::read_all_notifications))
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(jobs::get_job, jobs::delete_job))
        .routes(routes!(jobs::retry_job))
}

/// `POST /api/files` streams its body under its own limit (`MAX_UPLOAD_BYTES`, enforced while
/// reading) instead of `MAX_BODY_BYTES`, and its own timeout (see [`with_outer_layers`]).
fn uploads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(files::upload_file))
        .layer(DefaultBodyLimit::disable())
}

pub fn build(state: AppState) -> Router {
    build_with(state, Router::new())
}

/// Like [`build`], with `extra` routes served behind the same middleware (for embedders and
/// tests; they are not part of the OpenAPI document).
pub fn build_with(state: AppState, extra: Router) -> Router {
    // Installs the metrics recorder before the first request is counted.
    crate::platform::metrics::handle();
    let config = state.config.clone();
    let errors = state.error_tracker.clone();
    let gate = middleware::from_fn_with_state(state.clone(), api_gate::api_gate);
    let draining = state.draining.clone();
    let (api, document) = api(state.clone());
    let api = api.merge(extra);
    let document = std::sync::Arc::new(document);
    let routes = api
        .route(
            "/api/openapi.json",
            get(move |headers: axum::http::HeaderMap| async move {
                let base = crate::http::public_base::resolve(&state, &headers);
                let body = openapi::contract::with_server((*document).clone(), &base);
                axum::Json(body)
            }),
        )
        .route("/docs", get(openapi::docs_page))
        .route("/docs/favicon.svg", get(openapi::docs_favicon))
        .route("/docs/scalar.js", get(openapi::docs_bundle_js))
        .route("/docs/init.js", get(openapi::docs_init_js))
        .fallback(request_context::not_found_fallback)
        .method_not_allowed_fallback(request_context::method_not_allowed_fallback);

    // Layers run outside-in in the reverse order of the calls below: request context first
    // (ids, logging, metrics, panics, timeouts), then the security headers and CORS, so that
    // the head limits' refusals carry all three; then the API gate (caller, rate limits, client
    // version); the body limit last.
    let mut router = routes
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
        .layer(gate)
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .compress_when(DefaultPredicate::new().and(not_byte_ranges)),
        )
        .layer(middleware::from_fn_with_state(
            draining,
            draining::limit_head_and_close_while_draining,
        ));
    if let Some(cors) = cors::layer(&config.http.cors_origins) {
        router = router.layer(cors);
    }
    with_outer_layers(router, &config, errors)
}

/// The router of the `METRICS_ADDR` listener: `/metrics` and nothing else.
pub fn metrics_listener(state: AppState) -> Router {
    crate::platform::metrics::handle();
    let config = state.config.clone();
    let errors = state.error_tracker.clone();
    let routes = Router::new()
        .route("/metrics", get(metrics::metrics_listener))
        .fallback(request_context::not_found_fallback)
        .method_not_allowed_fallback(request_context::method_not_allowed_fallback)
        .with_state(state)
        .layer(middleware::from_fn(http_limits::limit_request_head));
    with_outer_layers(routes, &config, errors)
}

/// Downloads that serve byte ranges are sent as stored: compressing them would break their
/// `Content-Length`, ranges and strong `ETag`.
fn not_byte_ranges(
    _: StatusCode,
    _: axum::http::Version,
    headers: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    !headers.contains_key(header::ACCEPT_RANGES)
}

/// Request context and security headers, around everything either listener answers.
fn with_outer_layers(router: Router, config: &Config, errors: ErrorTracker) -> Router {
    router
        .layer(middleware::from_fn_with_state(
            SecurityHeadersConfig {
                trust_proxy_hops: config.http.trust_proxy_hops,
            },
            security_headers::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            RequestContextConfig {
                request_timeout: config.http.request_timeout,
                route_timeouts: std::sync::Arc::new([RouteTimeout {
                    method: axum::http::Method::POST,
                    route: "/api/files",
                    timeout: config.files.upload_timeout,
                }]),
                errors,
            },
            request_context::request_context,
        ))
}
