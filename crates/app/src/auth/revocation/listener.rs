//! The revocation listener: one per `serve` instance on PostgreSQL without Redis, on its own
//! connection (sqlx `PgListener`), dropping announced sessions from the local cache.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{CHANNEL, decode};
use crate::auth::session_state;
use crate::platform::db;
use crate::state::AppState;

/// How the connection shows up in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "aios-server listener";
/// After this long without a notification the connection is probed, so that a dead one is
/// found within about a second even when nothing is sent on it.
const IDLE_PROBE: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the cache stays trusted after the listener last heard from PostgreSQL. Longer than
/// a probe cycle, short enough that a stuck listener stops being trusted about as fast as a
/// probe would have noticed.
const LEASE: Duration = Duration::from_millis(2000);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct Listener {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Listener {
    pub fn start(app: AppState) -> Self {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(app, cancel.clone()));
        Self { cancel, task }
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

async fn run(app: AppState, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        app.session_trust.distrust();
        let ended = tokio::select! {
            () = cancel.cancelled() => return,
            ended = listen(&app, &mut backoff) => ended,
        };
        app.session_trust.distrust();
        if let Err(err) = ended {
            tracing::warn!(
                error = %format!("{err:#}"),
                retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                "the session revocation listener is down; session liveness comes from the \
                 database until it is back"
            );
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Subscribes on a fresh connection and handles notifications until the connection fails.
/// The pool is this connection's alone and is dropped with it, so a hung old connection never
/// stands in the way of a new one.
async fn listen(app: &AppState, backoff: &mut Duration) -> anyhow::Result<()> {
    let options = db::postgres_options(&app.config, APPLICATION_NAME)?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(CONNECT_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options);
    let mut listener = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let mut listener = PgListener::connect_with(&pool).await?;
        // A lost connection must surface here (to distrust the cache) before reconnecting.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    })
    .await
    .context("connecting timed out")?
    .context("connecting")?;
    // Subscribed: what was cached while nobody listened is dropped, and the cache is trusted.
    app.session_trust.confirm(LEASE);
    *backoff = Duration::from_millis(100);
    tracing::info!(channel = CHANNEL, "listening for session revocations");
    loop {
        match tokio::time::timeout(IDLE_PROBE, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => {
                session_state::forget(app, &decode(notification.payload())).await;
            }
            Ok(Ok(None)) => anyhow::bail!("the connection was lost"),
            Ok(Err(err)) => return Err(err).context("receiving"),
            Err(_idle) => {
                tokio::time::timeout(
                    PROBE_TIMEOUT,
                    sqlx::query("SELECT 1").execute(&mut listener),
                )
                .await
                .context("the connection stopped answering")?
                .context("probing the connection")?;
            }
        }
        app.session_trust.confirm(LEASE);
    }
}
