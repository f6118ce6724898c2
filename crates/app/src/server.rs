//! Start-up: binding the listeners, serving, running background work in-process, and the
//! orderly shutdown of all three. This is where the features are wired together: the router
//! (`router.rs`), the jobs (`jobs/`), the revocation listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::revocation::listener::Listener as RevocationListener;
use crate::http::server as http_server;
use crate::platform::config::ConnectionConfig;
use crate::platform::jobs::event::EventHandlers;
use crate::platform::jobs::runner::Worker;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::state::AppState;

/// What the background work of a process runs: every event's handler and the scheduled tasks.
pub struct Jobs {
    pub handlers: EventHandlers,
    pub scheduled: Vec<Arc<dyn ScheduledTask>>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            handlers: crate::jobs::event_handlers(),
            scheduled: crate::jobs::scheduled_tasks(),
        }
    }
}

/// Starts the background work (the outbox relay, the job workers, the scheduled tasks) of
/// this process.
pub fn start_worker(state: &AppState, jobs: Jobs) -> Worker {
    Worker::start(state.clone(), jobs.handlers, jobs.scheduled)
}

/// `/metrics` alone on `METRICS_ADDR`, for a process that serves no API (`worker`): the job
/// metrics are recorded where the jobs run.
pub struct MetricsServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// `None` when `METRICS_ADDR` is not set.
    pub async fn start(state: &AppState) -> anyhow::Result<Option<Self>> {
        let Some(addr) = state.config.metrics_addr else {
            return Ok(None);
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics (METRICS_ADDR)"))?;
        let addr = listener.local_addr()?;
        let router = crate::router::metrics_listener(state.clone());
        let limits = ConnectionConfig {
            max_connections: state
                .config
                .connections
                .max_connections
                .min(METRICS_MAX_CONNECTIONS),
            ..state.config.connections
        };
        let stop = CancellationToken::new();
        let grace = state.config.shutdown_timeout;
        let task = tokio::spawn(http_server::serve(
            listener,
            router,
            limits,
            stop.clone(),
            grace,
        ));
        Ok(Some(Self { addr, stop, task }))
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// A bound, ready-to-run HTTP server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    /// The `METRICS_ADDR` listener and its router, when configured.
    metrics: Option<(TcpListener, Router)>,
    jobs: Jobs,
    pub state: AppState,
}

/// Scrapers are few; the cap only keeps the metrics listener from costing many descriptors.
const METRICS_MAX_CONNECTIONS: usize = 64;

impl Server {
    pub async fn bind(state: AppState) -> anyhow::Result<Self> {
        Self::bind_with(state, Router::new()).await
    }

    /// Binds with `extra` routes behind the standard middleware (see `router::build_with`).
    pub async fn bind_with(state: AppState, extra: Router) -> anyhow::Result<Self> {
        let listener = bind_api(SocketAddr::new(state.config.host, state.config.port)).await?;
        Self::assemble(state, listener, extra).await
    }

    /// Serves on a listener bound before the state was built (see [`starting`]).
    pub async fn on_listener(state: AppState, listener: TcpListener) -> anyhow::Result<Self> {
        Self::assemble(state, listener, Router::new()).await
    }

    async fn assemble(
        state: AppState,
        listener: TcpListener,
        extra: Router,
    ) -> anyhow::Result<Self> {
        let router = crate::router::build_with(state.clone(), extra);
        let metrics = match state.config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.with_context(|| {
                    format!("cannot listen on {addr} for metrics (METRICS_ADDR)")
                })?;
                Some((listener, crate::router::metrics_listener(state.clone())))
            }
            None => None,
        };
        Ok(Self {
            listener,
            router,
            metrics,
            jobs: Jobs::default(),
            state,
        })
    }

    /// Runs other background work than the application's own (tests add job types).
    pub fn with_jobs(mut self, jobs: Jobs) -> Self {
        self.jobs = jobs;
        self
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Where `/metrics` is served when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        match &self.metrics {
            Some((listener, _)) => Ok(Some(listener.local_addr()?)),
            None => Ok(None),
        }
    }

    /// Serves until `shutdown` resolves; then `/health/ready` answers 503 while requests are
    /// still served for `SHUTDOWN_GRACE_SECS`; then it stops accepting, lets in-flight requests
    /// finish (bounded by `SHUTDOWN_TIMEOUT_SECS`), stops background work and closes the pools.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            metrics,
            jobs,
            state,
        } = self;
        let worker = state
            .config
            .jobs_in_process
            .then(|| start_worker(&state, jobs));
        let revocations = state
            .session_trust
            .needs_listener()
            .then(|| RevocationListener::start(state.clone()));
        let grace = state.config.shutdown_timeout;
        let stop = CancellationToken::new();
        let signal = {
            let stop = stop.clone();
            let state = state.clone();
            async move {
                shutdown.await;
                drain(&state).await;
                stop.cancel();
            }
        };
        let limits = state.config.connections;
        let metrics = async {
            if let Some((listener, router)) = metrics {
                let limits = ConnectionConfig {
                    max_connections: limits.max_connections.min(METRICS_MAX_CONNECTIONS),
                    ..limits
                };
                http_server::serve(listener, router, limits, stop.clone(), grace).await;
            }
        };
        let server = http_server::serve(listener, router, limits, stop.clone(), grace);
        tokio::join!(signal, server, metrics);
        tracing::info!("HTTP server stopped");
        if let Some(worker) = worker {
            worker.stop(grace).await;
        }
        if let Some(revocations) = revocations {
            revocations.stop().await;
        }
        state.db.close().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

async fn bind_api(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}: is another process using the port? (PORT, HOST)")
    })
}

/// Binds the API's address at once and answers there while `build` (connecting to the database
/// and Redis, with their retries, and migrating) runs: `/health/live` 200, `/health/ready` 503
/// (`status: starting`), anything else 503 `SERVICE_UNAVAILABLE` with `Retry-After`. An
/// orchestrator then sees a live process that is not ready yet, instead of a refused port.
/// Returns the listener, still bound, for [`Server::on_listener`].
pub async fn starting<T>(
    addr: SocketAddr,
    limits: ConnectionConfig,
    build: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(TcpListener, T)> {
    let listener = bind_api(addr).await?;
    let stop = CancellationToken::new();
    let router = Router::new()
        .route(
            "/health/live",
            axum::routing::get(crate::operations::health::live),
        )
        .route(
            "/health/ready",
            axum::routing::get(crate::operations::health::starting),
        )
        .fallback(|| async {
            crate::http::error::ApiError::new(
                crate::platform::error::ErrorCode::ServiceUnavailable,
                "The server is starting, try again shortly",
            )
            .with_retry_after(5)
        });
    // Requests that arrived during start-up are short (nothing here waits on anything).
    let grace = std::time::Duration::from_secs(1);
    let probes = http_server::serve(&listener, router, limits, stop.clone(), grace);
    let built = async {
        let built = build.await;
        stop.cancel();
        built
    };
    let ((), built) = tokio::join!(probes, built);
    Ok((listener, built?))
}

/// The rolling-restart window: the readiness probe fails at once, so a load balancer takes the
/// instance out of rotation, while it keeps accepting and answering whatever still arrives.
async fn drain(state: &AppState) {
    state
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let grace = state.config.shutdown_grace;
    if grace.is_zero() {
        return;
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "draining: /health/ready answers 503; still serving until SHUTDOWN_GRACE_SECS is over"
    );
    tokio::time::sleep(grace).await;
}
