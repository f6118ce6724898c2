//! Application state and start-up: everything `serve`, `worker` and the tests share.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::password::PasswordHasher;
use crate::auth::revocation::CacheTrust;
use crate::auth::revocation::listener::Listener as RevocationListener;
use crate::auth::tokens::{self, JwtKeys};
use crate::platform::cache::{MemoryCache, RedisCache, SharedCache};
use crate::platform::config::{Config, ConnectionConfig};
use crate::platform::db::{self, Db};
use crate::platform::http_server;
use crate::platform::mail::{LogMailer, SharedMailer};
use crate::platform::pagination::CursorCodec;
use crate::platform::worker::Worker;

/// Shared by every handler and background task. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: SharedCache,
    /// Whether session liveness may be answered from `cache` right now.
    pub session_trust: Arc<CacheTrust>,
    pub mailer: SharedMailer,
    pub jwt: Arc<JwtKeys>,
    pub passwords: PasswordHasher,
    pub cursors: CursorCodec,
    /// Key that encrypts stored idempotent responses which carry tokens.
    pub idempotency_seal: [u8; 32],
    /// Key that encrypts the pair a refresh issued, kept on the spent token (`auth::successor`).
    pub refresh_seal: [u8; 32],
    /// Wakes the in-process outbox relay right after a commit that stored an event.
    pub outbox_signal: Arc<Notify>,
}

/// Replacements for the production wiring, used by tests and embedders.
#[derive(Default)]
pub struct Overrides {
    pub mailer: Option<SharedMailer>,
}

impl AppState {
    /// Connects to the database (with retries), applies migrations and builds the services.
    pub async fn build(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        Self::from_parts(config, db, overrides).await
    }

    /// Builds the services around an open database (whose migrations are up to date).
    pub async fn from_parts(
        config: Arc<Config>,
        db: Db,
        overrides: Overrides,
    ) -> anyhow::Result<Self> {
        // Without Redis on PostgreSQL, instances may be several, each with its own cache: it
        // can be trusted only while it hears every revocation (`Server::run` listens).
        let session_trust = Arc::new(
            if config.redis_url.is_none() && db.backend() == sea_orm::DatabaseBackend::Postgres {
                CacheTrust::while_listening()
            } else {
                CacheTrust::always()
            },
        );
        let cache: SharedCache = match &config.redis_url {
            Some(url) => {
                Arc::new(RedisCache::connect(url.expose_secret(), &config.redis_prefix).await?)
            }
            None => Arc::new(MemoryCache::new(config.cache_max_bytes)),
        };
        let secret = match &config.auth.jwt_secret {
            Some(secret) => tokens::secret_bytes(secret),
            None => tokens::secret_bytes(&tokens::load_or_create_dev_secret(&config.data_dir)?),
        };
        let mailer = overrides.mailer.unwrap_or_else(|| {
            Arc::new(LogMailer {
                log_body: !config.is_production(),
            })
        });
        Ok(Self {
            jwt: Arc::new(JwtKeys::new(&secret, &config.auth)),
            passwords: PasswordHasher::new(config.auth.password_hash_concurrency).await?,
            cursors: CursorCodec::new(&secret),
            idempotency_seal: tokens::derive_key(&secret, "aios-server idempotency seal v1"),
            refresh_seal: tokens::derive_key(&secret, crate::auth::successor::KEY_LABEL),
            outbox_signal: Arc::new(Notify::new()),
            config,
            db,
            cache,
            session_trust,
            mailer,
        })
    }

    /// Call after committing a transaction that enqueued an outbox event.
    pub fn wake_outbox_relay(&self) {
        self.outbox_signal.notify_one();
    }

    pub fn start_worker(&self) -> Worker {
        Worker::start(
            self.clone(),
            crate::jobs::event_handlers(),
            crate::jobs::scheduled_tasks(),
        )
    }
}

/// A bound, ready-to-run HTTP server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    /// The `METRICS_ADDR` listener and its router, when configured.
    metrics: Option<(TcpListener, Router)>,
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
        let addr = SocketAddr::new(state.config.host, state.config.port);
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr}: is another process using the port? (PORT, HOST)")
        })?;
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
            state,
        })
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

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// (bounded by `SHUTDOWN_TIMEOUT_SECS`), stops background work and closes the pools.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            metrics,
            state,
        } = self;
        let worker = state.config.jobs_in_process.then(|| state.start_worker());
        let revocations = state
            .session_trust
            .needs_listener()
            .then(|| RevocationListener::start(state.clone()));
        let grace = state.config.shutdown_timeout;
        let stop = CancellationToken::new();
        let signal = {
            let stop = stop.clone();
            async move {
                shutdown.await;
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
