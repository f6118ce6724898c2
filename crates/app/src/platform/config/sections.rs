//! The sections of the configuration that need more than one variable or a rule across them.

use secrecy::ExposeSecret;

use super::*;

/// Production signing keys must be random: a repeated character or a few words would let
/// anyone who guesses them mint tokens. 120 leaves room for the estimate's error on a truly
/// random 128-bit value (32 hex digits).
fn strong_enough(secret: &str) -> bool {
    crate::platform::entropy::estimated_bits(secret) >= 120.0
}

impl Vars {
    pub(super) fn app_env(&mut self) -> AppEnv {
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

    pub(super) fn database(&mut self) -> DatabaseConfig {
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

    pub(super) fn auth(&mut self, production: bool) -> AuthConfig {
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
            // The contract says reset links are valid 30 minutes.
            password_reset_ttl: self.duration_in(
                "PASSWORD_RESET_TOKEN_TTL",
                Duration::from_secs(30 * 60),
                Duration::from_secs(60),
                Duration::from_secs(24 * 3600),
            ),
            email_verification_ttl: self.duration_in(
                "EMAIL_VERIFICATION_TOKEN_TTL",
                Duration::from_secs(24 * 3600),
                Duration::from_secs(60),
                Duration::from_secs(30 * 86_400),
            ),
        }
    }

    pub(super) fn http(&mut self, production: bool) -> HttpConfig {
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

    pub(super) fn trust_proxy(&mut self) -> usize {
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

    pub(super) fn admin(&mut self) -> Option<AdminBootstrap> {
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
