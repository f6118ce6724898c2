use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::breaker::BreakerState;
use crate::platform::cache::CacheStatus;
use crate::state::AppState;

/// `/health` must answer within two seconds even when the database hangs.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverallStatus {
    Ok,
    Degraded,
    Error,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseStatus {
    Connected,
    Disconnected,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedisStatus {
    Connected,
    Disconnected,
    Disabled,
}

/// A provider's circuit breaker (mail, push, storage).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// Calls go through.
    Closed,
    /// Too many consecutive failures: calls wait for the cool-down (jobs are rescheduled).
    Open,
    /// The cool-down is over: the next call is a probe that closes or reopens it.
    HalfOpen,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthReport {
    /// `ok`; `degraded` when Redis is configured but unreachable, or a provider's circuit is
    /// open; `error` when the database does not answer.
    pub status: OverallStatus,
    pub timestamp: DateTime<Utc>,
    pub database: DatabaseStatus,
    pub redis: RedisStatus,
    /// The server's version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// The circuit breaker of each external provider this process has used, by name (`mail`).
    pub providers: BTreeMap<&'static str, ProviderStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeReport {
    /// `ok` or `error`; `stopping` from `/health/ready` once the process was asked to stop
    /// (SIGTERM), during `SHUTDOWN_GRACE_SECS` and after.
    #[schema(example = "ok")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseStatus>,
    /// `applied` or `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<&'static str>,
}

fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[utoipa::path(summary = "Health", description = "The state of the server and its dependencies: `200` when the database answers, `503` when it does not.",
    get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = HealthReport),
        (status = 503, description = "The database does not answer", body = HealthReport),
    ))]
pub async fn health(State(app): State<AppState>) -> Response {
    let (database_up, cache) = tokio::join!(app.db.ping(PROBE_TIMEOUT), async {
        tokio::time::timeout(PROBE_TIMEOUT, app.cache.status())
            .await
            .unwrap_or(CacheStatus::Disconnected)
    });
    let redis = match cache {
        CacheStatus::Disabled => RedisStatus::Disabled,
        CacheStatus::Connected => RedisStatus::Connected,
        CacheStatus::Disconnected => RedisStatus::Disconnected,
    };
    let providers: BTreeMap<&'static str, ProviderStatus> = app
        .breakers
        .states()
        .into_iter()
        .map(|(name, state)| {
            let status = match state {
                BreakerState::Closed => ProviderStatus::Closed,
                BreakerState::Open => ProviderStatus::Open,
                BreakerState::HalfOpen => ProviderStatus::HalfOpen,
            };
            (name, status)
        })
        .collect();
    let provider_down = providers
        .values()
        .any(|s| matches!(s, ProviderStatus::Open));
    let status = match (database_up, &redis) {
        (false, _) => OverallStatus::Error,
        (true, RedisStatus::Disconnected) => OverallStatus::Degraded,
        (true, _) if provider_down => OverallStatus::Degraded,
        (true, _) => OverallStatus::Ok,
    };
    let report = HealthReport {
        status,
        timestamp: crate::platform::clock::now(),
        database: if database_up {
            DatabaseStatus::Connected
        } else {
            DatabaseStatus::Disconnected
        },
        redis,
        version: env!("CARGO_PKG_VERSION"),
        providers,
    };
    let code = if database_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store(code, report)
}

#[utoipa::path(summary = "Liveness probe", description = "`200` while the process runs; touches nothing else.",
    get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process runs", body = ProbeReport)))]
pub async fn live() -> Response {
    no_store(
        StatusCode::OK,
        ProbeReport {
            status: "ok",
            database: None,
            migrations: None,
        },
    )
}

/// `/health/ready` while start-up still connects to the database and Redis (`server::starting`):
/// the listener is already bound, so probes get an answer instead of a refused connection.
pub async fn starting() -> Response {
    no_store(
        StatusCode::SERVICE_UNAVAILABLE,
        ProbeReport {
            status: "starting",
            database: None,
            migrations: None,
        },
    )
}

#[utoipa::path(summary = "Readiness probe", description = "`200` when the server can serve (database reachable, migrations applied), else `503`.",
    get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Database reachable and migrations applied", body = ProbeReport),
        (status = 503, description = "Not ready to serve: the database is unreachable, \
            migrations are pending, or the process is stopping (`status: stopping`)", body = ProbeReport),
    ))]
pub async fn ready(State(app): State<AppState>) -> Response {
    if app.is_draining() {
        return no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            ProbeReport {
                status: "stopping",
                database: None,
                migrations: None,
            },
        );
    }
    let database_up = app.db.ping(PROBE_TIMEOUT).await;
    let migrated = database_up
        && tokio::time::timeout(PROBE_TIMEOUT, app.db.migrations_applied())
            .await
            .unwrap_or(false);
    let ready = database_up && migrated;
    no_store(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        ProbeReport {
            status: if ready { "ok" } else { "error" },
            database: Some(if database_up {
                DatabaseStatus::Connected
            } else {
                DatabaseStatus::Disconnected
            }),
            migrations: Some(if migrated { "applied" } else { "pending" }),
        },
    )
}
