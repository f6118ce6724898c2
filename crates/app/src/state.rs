//! The application state every handler and background task shares. It holds platform
//! services only: nothing here knows a feature (start-up is `server.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::platform::breaker::Breakers;
use crate::platform::cache::{CacheTrust, MemoryCache, RedisCache, SharedCache};
use crate::platform::config::Config;
use crate::platform::db::{self, Db};
use crate::platform::jobs::store::JobStore;
use crate::platform::jwt::JwtKeys;
use crate::platform::mail::{MailService, SharedMailer};
use crate::platform::pagination::CursorCodec;
use crate::platform::password_hash::PasswordHasher;
use crate::platform::push::Push;
use crate::platform::secrets;
use crate::platform::storage::Storage;

/// Shared by every handler and background task. One reference count to clone: axum clones the
/// state of each middleware and handler on every request, and cloning each service's own
/// handle showed at 10 % of a health check's CPU (docs/performance.md).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: SharedCache,
    /// Whether session liveness may be answered from `cache` right now.
    pub session_trust: Arc<CacheTrust>,
    /// Outgoing email: the transport behind its circuit breaker, and the templates.
    pub mail: Arc<MailService>,
    pub jwt: Arc<JwtKeys>,
    pub passwords: PasswordHasher,
    pub cursors: CursorCodec,
    /// Key that encrypts stored idempotent responses which carry tokens.
    pub idempotency_seal: [u8; 32],
    /// Key that encrypts the pair a refresh issued, kept on the spent token (`auth::successor`).
    pub refresh_seal: [u8; 32],
    /// The job queues (their own connection pool).
    pub jobs: JobStore,
    /// Where uploaded files are kept (local disk or S3).
    pub storage: Arc<Storage>,
    /// Key that signs the download links this server serves itself (local storage).
    pub file_link_key: [u8; 32],
    /// The circuit breakers of external providers, by name.
    pub breakers: Arc<Breakers>,
    /// The configured push providers (Web Push, FCM, APNs), behind `breakers`.
    pub push: Arc<Push>,
    /// Wakes the in-process outbox relay right after a commit that stored an event.
    pub outbox_signal: Arc<Notify>,
    /// Set once the process has been asked to stop: `/health/ready` answers 503 from then on,
    /// while requests are still served for `SHUTDOWN_GRACE_SECS`.
    pub draining: Arc<AtomicBool>,
    /// Reports unexpected errors to Sentry when `SENTRY_DSN` is set.
    pub error_tracker: crate::platform::error_tracking::ErrorTracker,
}

/// Replacements for the production wiring, used by tests and embedders.
#[derive(Default)]
pub struct Overrides {
    /// Replaces the configured mail transport (the breaker and the templates stay).
    pub mailer: Option<SharedMailer>,
}

impl AppState {
    /// Connects to the database (with retries), applies migrations and builds the services.
    pub async fn build(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        crate::platform::tls::install_default_provider();
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
        // Before any client is built (Redis's TLS, the push providers', SendGrid's, S3's).
        crate::platform::tls::install_default_provider();
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
            Some(url) => Arc::new(
                RedisCache::connect_within(
                    url.expose_secret(),
                    &config.redis_prefix,
                    config.database.connect_timeout,
                )
                .await?,
            ),
            None => Arc::new(MemoryCache::new(config.cache_max_bytes)),
        };
        let secret = match &config.auth.jwt_secret {
            Some(secret) => secrets::secret_bytes(secret),
            None => secrets::secret_bytes(&secrets::load_or_create_dev_secret(&config.data_dir)?),
        };
        let breakers = Arc::new(Breakers::default());
        let push = Arc::new(Push::from_config(&config.push, &breakers)?);
        let mail = MailService::from_config(&config, &breakers, overrides.mailer).await?;
        Ok(Self(Arc::new(Services {
            jwt: Arc::new(JwtKeys::new(&secret, &config.auth)),
            passwords: PasswordHasher::new(config.auth.password_hash_concurrency).await?,
            cursors: CursorCodec::new(&secret),
            idempotency_seal: secrets::derive_key(&secret, secrets::IDEMPOTENCY_SEAL),
            refresh_seal: secrets::derive_key(&secret, secrets::REFRESH_SUCCESSOR_SEAL),
            file_link_key: secrets::derive_key(&secret, secrets::FILE_LINK_SIGNING),
            storage: Arc::new(Storage::open(&config.files.storage)?),
            outbox_signal: Arc::new(Notify::new()),
            draining: Arc::new(AtomicBool::new(false)),
            error_tracker: crate::platform::error_tracking::ErrorTracker::from_config(&config),
            breakers,
            push,
            jobs: db::job_store(&config)?,
            config,
            db,
            cache,
            session_trust,
            mail: Arc::new(mail),
        })))
    }

    /// Whether the process is stopping (see `draining`).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Call after committing a transaction that enqueued an outbox event.
    pub fn wake_outbox_relay(&self) {
        self.outbox_signal.notify_one();
    }
}
