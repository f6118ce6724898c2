//! Configuration: every environment variable is parsed and validated here, once, at start-up.
//! Nothing else in the code base reads the environment.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

mod backup;
mod error_tracking;
mod files;
mod jobs;
mod listeners;
mod mail;
mod push;
mod sections;
#[cfg(test)]
mod tests;
mod vars;

pub use backup::BackupConfig;
pub use error_tracking::ErrorTrackingConfig;
pub use files::{FilesConfig, S3Config, StorageConfig};
pub use jobs::JobsConfig;
pub use listeners::ConnectionConfig;
pub use mail::{MailConfig, MailTransport};
pub use push::{
    APNS_PRODUCTION_URL, APNS_SANDBOX_URL, ApnsConfig, ApnsEnvironment, FCM_API_URL, FcmConfig,
    PushConfig, WebPushConfig,
};

/// Where the process runs; production refuses unsafe settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// The typed configuration. Built by [`Config::from_vars`]; shared through `AppState`.
pub struct Config {
    pub app_env: AppEnv,
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub redis_url: Option<SecretString>,
    pub redis_prefix: String,
    /// Byte bound of the in-process cache (used when there is no Redis).
    pub cache_max_bytes: u64,
    pub idempotency: IdempotencyConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub log_level: String,
    pub log_format: LogFormat,
    pub metrics_token: Option<SecretString>,
    /// When set, `/metrics` is served on this address only, not on `HOST:PORT`.
    pub metrics_addr: Option<SocketAddr>,
    pub admin: Option<AdminBootstrap>,
    pub min_app_version: Option<semver::Version>,
    pub items: ItemsConfig,
    /// Uploads and the storage that keeps them.
    pub files: FilesConfig,
    pub rate_limits: RateLimitConfig,
    pub mail: MailConfig,
    pub jobs_in_process: bool,
    pub jobs: JobsConfig,
    pub shutdown_timeout: Duration,
    /// After SIGTERM, how long `/health/ready` answers 503 while requests are still served, so
    /// that a load balancer stops sending new ones before the listener closes.
    pub shutdown_grace: Duration,
    pub connections: ConnectionConfig,
    pub push: PushConfig,
    /// Scheduled backups of the embedded database and local uploads.
    pub backup: BackupConfig,
    /// Where unexpected errors are reported (Sentry), if anywhere.
    pub error_tracking: ErrorTrackingConfig,
}

pub struct DatabaseConfig {
    /// `None` means the embedded SQLite database under `DATA_DIR`.
    pub url: Option<SecretString>,
    pub ssl: bool,
    pub pool_size: u32,
    /// Total time start-up keeps retrying an unreachable database.
    pub connect_timeout: Duration,
}

pub struct AuthConfig {
    /// `None` in development until start-up generates or loads one from `DATA_DIR`.
    pub jwt_secret: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub lockout_threshold: u32,
    pub lockout_base: Duration,
    pub lockout_max: Duration,
    pub password_hash_concurrency: usize,
    /// How long a mailed password-reset link works; the email states it.
    pub password_reset_ttl: Duration,
    /// How long a mailed verification link works; the email states it.
    pub email_verification_ttl: Duration,
}

pub struct HttpConfig {
    pub cors_origins: Vec<String>,
    /// How many reverse proxies in front of the server append to `X-Forwarded-For` (0: none
    /// trusted, the socket address is the client).
    pub trust_proxy_hops: usize,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
}

pub struct IdempotencyConfig {
    /// Bytes of stored responses one scope (a user, or an anonymous client address) may hold.
    pub max_bytes_per_scope: u64,
}

pub struct AdminBootstrap {
    pub email: String,
    pub password: SecretString,
}

pub struct ItemsConfig {
    pub max_items_per_user: u64,
    pub sync_retention: Duration,
}

/// Requests per minute.
pub struct RateLimitConfig {
    pub anon_per_min: u64,
    pub user_per_min: u64,
    pub auth_per_min: u64,
}

/// One variable that failed to parse or validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub var: &'static str,
    pub message: String,
}

/// Every problem found in the environment, reported together so one restart fixes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for issue in &self.0 {
            writeln!(f, "  {}: {}", issue.var, issue.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one would silently drop every line after the
        // bad one, so it stops the start-up instead.
        match dotenvy::dotenv() {
            Err(err) if !err.not_found() => {
                return Err(ConfigError(vec![ConfigIssue {
                    var: ".env",
                    message: format!("cannot be read: {err}"),
                }]));
            }
            _ => {}
        }
        Self::from_vars(std::env::vars())
    }

    /// Parses configuration from explicit variables (tests use this directly).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut env = Vars {
            map: vars
                .into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
            issues: Vec::new(),
        };
        let config = env.build();
        if env.issues.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(env.issues))
        }
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("aios.db")
    }

    pub fn database_url_is_postgres(&self) -> bool {
        self.database.url.is_some()
    }
}

use vars::Vars;
