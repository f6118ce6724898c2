//! Reading one variable: the typed parsers every section uses, and assembling the `Config`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::*;

pub(super) struct Vars {
    pub(super) map: HashMap<String, String>,
    pub(super) issues: Vec<ConfigIssue>,
}

impl Vars {
    pub(super) fn raw(&self, var: &str) -> Option<&str> {
        self.map.get(var).map(|v| v.trim())
    }

    pub(super) fn fail(&mut self, var: &'static str, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            var,
            message: message.into(),
        });
    }

    pub(super) fn string(&self, var: &str, default: &str) -> String {
        self.raw(var).unwrap_or(default).to_owned()
    }

    pub(super) fn secret(&self, var: &str) -> Option<SecretString> {
        self.raw(var).map(SecretString::from)
    }

    pub(super) fn parse<T: std::str::FromStr>(
        &mut self,
        var: &'static str,
        default: T,
        expected: &str,
    ) -> T {
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

    pub(super) fn ranged(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> u64 {
        let value = self.parse(var, default, &format!("an integer from {min} to {max}"));
        if !(min..=max).contains(&value) {
            self.fail(var, format!("must be from {min} to {max}, got {value}"));
            return default;
        }
        value
    }

    pub(super) fn flag(&mut self, var: &'static str, default: bool) -> bool {
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

    pub(super) fn duration(&mut self, var: &'static str, default: Duration) -> Duration {
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

    /// A duration from `min` to `max`.
    pub(super) fn duration_in(
        &mut self,
        var: &'static str,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Duration {
        let value = self.duration(var, default);
        if !(min..=max).contains(&value) {
            let (min, max) = (
                humantime::format_duration(min),
                humantime::format_duration(max),
            );
            let got = humantime::format_duration(value);
            self.fail(var, format!("must be from {min} to {max}, got {got}"));
            return default;
        }
        value
    }

    pub(super) fn secs(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_secs(self.ranged(var, default, min, max))
    }

    pub(super) fn build(&mut self) -> Config {
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
        let files = self.files(&data_dir);
        let rate_limits = RateLimitConfig {
            anon_per_min: self.ranged("RATE_LIMIT_ANON_PER_MIN", 120, 1, 10_000_000),
            user_per_min: self.ranged("RATE_LIMIT_USER_PER_MIN", 600, 1, 10_000_000),
            auth_per_min: self.ranged("RATE_LIMIT_AUTH_PER_MIN", 20, 1, 10_000_000),
        };
        let mail = self.mail(production, port);
        let jobs_in_process = self.flag("JOBS_IN_PROCESS", true);
        let jobs = self.jobs();
        let shutdown_timeout = self.secs("SHUTDOWN_TIMEOUT_SECS", 30, 1, 3600);
        // Long enough for a load balancer checking every 1-2 s to see the 503; in development
        // Ctrl-C should stop at once.
        let shutdown_grace = self.secs(
            "SHUTDOWN_GRACE_SECS",
            if production { 5 } else { 0 },
            0,
            300,
        );
        let connections = self.connections();
        let push = self.push(production);
        let backup = self.backup(&data_dir, database.url.is_some());
        let error_tracking = self.error_tracking(app_env);
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
            files,
            rate_limits,
            mail,
            jobs_in_process,
            jobs,
            shutdown_timeout,
            shutdown_grace,
            connections,
            push,
            backup,
            error_tracking,
        }
    }
}
