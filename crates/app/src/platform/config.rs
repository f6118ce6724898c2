//! Configuration: every environment variable is parsed and validated here, once, at start-up.
//! Nothing else in the code base reads the environment.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

mod listeners;

pub use listeners::ConnectionConfig;

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
    pub rate_limits: RateLimitConfig,
    pub mail: MailConfig,
    pub jobs_in_process: bool,
    pub shutdown_timeout: Duration,
    pub connections: ConnectionConfig,
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

pub struct MailConfig {
    pub from: String,
    /// Base of the links put in emails (`{APP_URL}/reset-password?token=...`).
    pub app_url: String,
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

/// Production signing keys must be random: a repeated character or a few words would let
/// anyone who guesses them mint tokens. 120 leaves room for the estimate's error on a truly
/// random 128-bit value (32 hex digits).
fn strong_enough(secret: &str) -> bool {
    crate::platform::entropy::estimated_bits(secret) >= 120.0
}

struct Vars {
    map: HashMap<String, String>,
    issues: Vec<ConfigIssue>,
}

impl Vars {
    fn raw(&self, var: &str) -> Option<&str> {
        self.map.get(var).map(|v| v.trim())
    }

    fn fail(&mut self, var: &'static str, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            var,
            message: message.into(),
        });
    }

    fn string(&self, var: &str, default: &str) -> String {
        self.raw(var).unwrap_or(default).to_owned()
    }

    fn secret(&self, var: &str) -> Option<SecretString> {
        self.raw(var).map(SecretString::from)
    }

    fn parse<T: std::str::FromStr>(&mut self, var: &'static str, default: T, expected: &str) -> T {
        match self.raw(var).map(|v| v.parse::<T>()) {
            None => default,
            Some(Ok(value)) => value,
            Some(Err(_)) => {
                let got = self.raw(var).unwrap_or_default().to_owned();
                self.fail(var, format!("expected {expected}, got {got:?}"));
                default
            }
        }
    }

    fn ranged(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> u64 {
        let value = self.parse(var, default, &format!("an integer from {min} to {max}"));
        if !(min..=max).contains(&value) {
            self.fail(var, format!("must be from {min} to {max}, got {value}"));
            return default;
        }
        value
    }

    fn flag(&mut self, var: &'static str, default: bool) -> bool {
        match self.raw(var).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => {
                let other = other.to_owned();
                self.fail(var, format!("expected true or false, got {other:?}"));
                default
            }
        }
    }

    fn duration(&mut self, var: &'static str, default: Duration) -> Duration {
        let Some(raw) = self.raw(var).map(str::to_owned) else {
            return default;
        };
        // A bare number means seconds, as the Node version's `jsonwebtoken` accepted.
        let parsed = raw
            .parse::<u64>()
            .map(Duration::from_secs)
            .or_else(|_| humantime::parse_duration(&raw));
        match parsed {
            Ok(d) if !d.is_zero() => d,
            _ => {
                self.fail(
                    var,
                    format!("expected a duration like 15m, 30d or 900, got {raw:?}"),
                );
                default
            }
        }
    }

    fn secs(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_secs(self.ranged(var, default, min, max))
    }

    fn build(&mut self) -> Config {
        let app_env = self.app_env();
        let production = app_env == AppEnv::Production;
        let host = self.parse("HOST", IpAddr::from([0, 0, 0, 0]), "an IP address");
        let port = self.parse("PORT", 3000u16, "a port number from 0 to 65535");
        let data_dir = PathBuf::from(self.string("DATA_DIR", "./data"));
        let database = self.database();
        let redis_url = self.secret("REDIS_URL");
        if let Some(url) = &redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                self.fail("REDIS_URL", "must start with redis:// or rediss://");
            }
        }
        let redis_prefix = self.string("REDIS_PREFIX", "aios:");
        let cache_max_bytes = self.ranged("CACHE_MAX_BYTES", 64 << 20, 1 << 20, 1 << 40);
        let idempotency = IdempotencyConfig {
            max_bytes_per_scope: self.ranged(
                "IDEMPOTENCY_MAX_BYTES_PER_USER",
                10 << 20,
                64 << 10,
                1 << 34,
            ),
        };
        let auth = self.auth(production);
        let http = self.http(production);
        let log_level = self.string("LOG_LEVEL", "info");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            self.fail(
                "LOG_LEVEL",
                format!("not a valid level or filter: {log_level:?}"),
            );
        }
        let default_format = if production { "json" } else { "pretty" };
        let log_format = match self.string("LOG_FORMAT", default_format).as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                let message = format!("expected json or pretty, got {other:?}");
                self.fail("LOG_FORMAT", message);
                LogFormat::Json
            }
        };
        let metrics_token = self.secret("METRICS_TOKEN");
        let metrics_addr = self.metrics_addr(production, metrics_token.is_some());
        let admin = self.admin();
        let min_app_version = self
            .raw("MIN_APP_VERSION")
            .map(str::to_owned)
            .and_then(|raw| {
                let parsed = crate::platform::version::parse_lenient(&raw);
                if parsed.is_none() {
                    self.fail(
                        "MIN_APP_VERSION",
                        format!("not a semantic version: {raw:?}"),
                    );
                }
                parsed
            });
        let items = ItemsConfig {
            max_items_per_user: self.ranged("MAX_ITEMS_PER_USER", 100_000, 1, 100_000_000),
            sync_retention: Duration::from_secs(
                86_400 * self.ranged("SYNC_RETENTION_DAYS", 30, 1, 3650),
            ),
        };
        let rate_limits = RateLimitConfig {
            anon_per_min: self.ranged("RATE_LIMIT_ANON_PER_MIN", 120, 1, 10_000_000),
            user_per_min: self.ranged("RATE_LIMIT_USER_PER_MIN", 600, 1, 10_000_000),
            auth_per_min: self.ranged("RATE_LIMIT_AUTH_PER_MIN", 20, 1, 10_000_000),
        };
        let mail = MailConfig {
            from: self.string("MAIL_FROM", "aios-server <no-reply@localhost>"),
            app_url: self
                .string("APP_URL", &format!("http://localhost:{port}"))
                .trim_end_matches('/')
                .to_owned(),
        };
        let jobs_in_process = self.flag("JOBS_IN_PROCESS", true);
        let shutdown_timeout = self.secs("SHUTDOWN_TIMEOUT_SECS", 30, 1, 3600);
        let connections = self.connections();
        Config {
            app_env,
            host,
            port,
            data_dir,
            database,
            redis_url,
            redis_prefix,
            cache_max_bytes,
            idempotency,
            auth,
            http,
            log_level,
            log_format,
            metrics_token,
            metrics_addr,
            admin,
            min_app_version,
            items,
            rate_limits,
            mail,
            jobs_in_process,
            shutdown_timeout,
            connections,
        }
    }

    fn app_env(&mut self) -> AppEnv {
        // NODE_ENV is the seed's name; APP_ENV wins when both are set.
        let (var, raw) = match (self.raw("APP_ENV"), self.raw("NODE_ENV")) {
            (Some(v), _) => ("APP_ENV", v.to_ascii_lowercase()),
            (None, Some(v)) => ("NODE_ENV", v.to_ascii_lowercase()),
            (None, None) => return AppEnv::Development,
        };
        match raw.as_str() {
            "development" | "dev" => AppEnv::Development,
            "test" => AppEnv::Test,
            "production" | "prod" => AppEnv::Production,
            other => {
                let message = format!("expected development, test or production, got {other:?}");
                self.fail(var, message);
                AppEnv::Development
            }
        }
    }

    fn database(&mut self) -> DatabaseConfig {
        let url = self.secret("DATABASE_URL");
        if let Some(url) = &url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                self.fail(
                    "DATABASE_URL",
                    "must be a postgres:// or postgresql:// URL (leave it unset for SQLite)",
                );
            }
        }
        DatabaseConfig {
            url,
            ssl: self.flag("DATABASE_SSL", false),
            pool_size: self.ranged("DATABASE_POOL_SIZE", 10, 1, 1000) as u32,
            connect_timeout: self.secs("DATABASE_CONNECT_TIMEOUT_SECS", 30, 1, 3600),
        }
    }

    fn auth(&mut self, production: bool) -> AuthConfig {
        let jwt_secret = self.secret("JWT_SECRET");
        match &jwt_secret {
            Some(secret) if secret.expose_secret().len() < 32 => {
                self.fail("JWT_SECRET", "must be at least 32 bytes long");
            }
            Some(secret) if production && !strong_enough(secret.expose_secret()) => {
                let bits = crate::platform::entropy::estimated_bits(secret.expose_secret());
                self.fail(
                    "JWT_SECRET",
                    format!(
                        "is too guessable for production (about {bits:.0} bits of entropy \
                         estimated; about 128 are needed): use a random value such as the \
                         output of `openssl rand -base64 48`"
                    ),
                );
            }
            None if production => {
                self.fail(
                    "JWT_SECRET",
                    "is required in production (at least 32 bytes)",
                );
            }
            _ => {}
        }
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        AuthConfig {
            jwt_secret,
            jwt_issuer: self.string("JWT_ISSUER", "aios-server"),
            jwt_audience: self.string("JWT_AUDIENCE", "aios-app"),
            access_token_ttl: self.duration("JWT_EXPIRES_IN", Duration::from_secs(15 * 60)),
            refresh_token_ttl: self
                .duration("REFRESH_TOKEN_EXPIRES_IN", Duration::from_secs(30 * 86_400)),
            refresh_reuse_grace: self.secs("REFRESH_REUSE_GRACE_SECS", 10, 0, 3600),
            lockout_threshold: self.ranged("LOCKOUT_THRESHOLD", 5, 1, 1000) as u32,
            lockout_base: self.secs("LOCKOUT_BASE_SECS", 60, 1, 86_400),
            lockout_max: self.secs("LOCKOUT_MAX_SECS", 3600, 1, 7 * 86_400),
            password_hash_concurrency: self.ranged(
                "PASSWORD_HASH_CONCURRENCY",
                cpus as u64,
                1,
                1024,
            ) as usize,
        }
    }

    fn http(&mut self, production: bool) -> HttpConfig {
        let cors_origins: Vec<String> = self
            .string("CORS_ORIGINS", "")
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &cors_origins {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && http::HeaderValue::from_str(origin).is_ok());
            if !valid {
                let message = format!("{origin:?} is not an origin like https://app.example.com");
                self.fail("CORS_ORIGINS", message);
            }
        }
        if production && cors_origins.iter().any(|o| o == "*") {
            self.fail(
                "CORS_ORIGINS",
                "* is refused in production: list the origins",
            );
        }
        HttpConfig {
            cors_origins,
            trust_proxy_hops: self.trust_proxy(),
            request_timeout: self.secs("REQUEST_TIMEOUT_SECS", 30, 1, 3600),
            max_body_bytes: self.ranged("MAX_BODY_BYTES", 1_048_576, 1024, 1 << 30) as usize,
        }
    }

    fn trust_proxy(&mut self) -> usize {
        // Express's semantics: true means one proxy hop; a number says how many.
        match self
            .raw("TRUST_PROXY")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0" | "no" | "off") => 0,
            Some("true" | "yes" | "on") => 1,
            Some(other) => match other.parse::<usize>() {
                Ok(hops) if hops <= 10 => hops,
                _ => {
                    let message = format!("expected true, false or a hop count, got {other:?}");
                    self.fail("TRUST_PROXY", message);
                    0
                }
            },
        }
    }

    fn admin(&mut self) -> Option<AdminBootstrap> {
        match (self.raw("ADMIN_EMAIL"), self.secret("ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some(AdminBootstrap {
                email: email.to_owned(),
                password,
            }),
            (None, None) => None,
            (Some(_), None) => {
                self.fail("ADMIN_PASSWORD", "is required when ADMIN_EMAIL is set");
                None
            }
            (None, Some(_)) => {
                self.fail("ADMIN_EMAIL", "is required when ADMIN_PASSWORD is set");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn issues(pairs: &[(&str, &str)]) -> Vec<ConfigIssue> {
        match Config::from_vars(vars(pairs)) {
            Ok(_) => Vec::new(),
            Err(ConfigError(issues)) => issues,
        }
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = Config::from_vars(vars(&[])).ok();
        let config = config.as_ref();
        assert_eq!(config.map(|c| c.port), Some(3000));
        assert_eq!(config.map(|c| c.app_env), Some(AppEnv::Development));
        assert_eq!(config.map(|c| c.database.url.is_none()), Some(true));
        assert_eq!(
            config.map(|c| c.auth.access_token_ttl),
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn a_bad_port_names_the_variable() {
        let found = issues(&[("PORT", "eighty")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].var, "PORT");
        assert!(found[0].message.contains("eighty"), "{:?}", found[0]);
        assert_eq!(issues(&[("PORT", "70000")])[0].var, "PORT");
    }

    #[test]
    fn production_requires_a_long_jwt_secret() {
        let found = issues(&[("APP_ENV", "production"), ("METRICS_TOKEN", "t")]);
        assert_eq!(
            found.iter().map(|i| i.var).collect::<Vec<_>>(),
            ["JWT_SECRET"]
        );
        let found = issues(&[
            ("NODE_ENV", "production"),
            ("JWT_SECRET", "short"),
            ("METRICS_TOKEN", "t"),
        ]);
        assert_eq!(
            found.iter().map(|i| i.var).collect::<Vec<_>>(),
            ["JWT_SECRET"]
        );
        let random = "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy";
        let metrics = ("METRICS_TOKEN", "t");
        assert!(issues(&[("APP_ENV", "production"), ("JWT_SECRET", random), metrics]).is_empty());
    }

    #[test]
    fn production_refuses_guessable_jwt_secrets() {
        for weak in [
            "x".repeat(40),
            "password".repeat(5),
            "sunshinedragonfootballprincessmonkey".to_owned(),
        ] {
            let found = issues(&[
                ("APP_ENV", "production"),
                ("JWT_SECRET", &weak),
                ("METRICS_TOKEN", "t"),
            ]);
            assert_eq!(found.len(), 1, "{weak}: {found:?}");
            assert_eq!(found[0].var, "JWT_SECRET");
            assert!(found[0].message.contains("guessable"), "{found:?}");
            // Development keeps accepting them: only production signs real users' tokens.
            assert!(issues(&[("JWT_SECRET", &weak)]).is_empty());
        }
        let hex = "9f86d081884c7d659a2feaa0c55ad015";
        assert!(
            issues(&[
                ("APP_ENV", "production"),
                ("JWT_SECRET", hex),
                ("METRICS_TOKEN", "t")
            ])
            .is_empty()
        );
    }

    #[test]
    fn durations_accept_units_and_seconds() {
        let config = Config::from_vars(vars(&[
            ("JWT_EXPIRES_IN", "5m"),
            ("REFRESH_TOKEN_EXPIRES_IN", "7d"),
        ]))
        .ok();
        let auth = config.as_ref().map(|c| &c.auth);
        assert_eq!(
            auth.map(|a| a.access_token_ttl),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            auth.map(|a| a.refresh_token_ttl),
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(
            issues(&[("JWT_EXPIRES_IN", "soon")])[0].var,
            "JWT_EXPIRES_IN"
        );
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let found = issues(&[
            ("PORT", "x"),
            ("DATABASE_URL", "mysql://db"),
            ("LOG_FORMAT", "xml"),
            ("CORS_ORIGINS", "not a url"),
        ]);
        let names: Vec<_> = found.iter().map(|i| i.var).collect();
        assert_eq!(
            names,
            ["PORT", "DATABASE_URL", "CORS_ORIGINS", "LOG_FORMAT"]
        );
    }

    #[test]
    fn admin_bootstrap_needs_both_variables() {
        assert_eq!(
            issues(&[("ADMIN_EMAIL", "a@b.co")])[0].var,
            "ADMIN_PASSWORD"
        );
    }
}
