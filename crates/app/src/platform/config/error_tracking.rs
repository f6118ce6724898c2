//! The settings of error tracking (Sentry).

use secrecy::{ExposeSecret as _, SecretString};

use super::{AppEnv, Vars};

pub struct ErrorTrackingConfig {
    /// Unset: nothing is reported.
    pub dsn: Option<SecretString>,
    /// The environment events are filed under.
    pub environment: String,
}

impl Vars {
    pub(super) fn error_tracking(&mut self, app_env: AppEnv) -> ErrorTrackingConfig {
        let dsn = self.secret("SENTRY_DSN");
        if let Some(dsn) = &dsn
            && dsn.expose_secret().parse::<sentry::types::Dsn>().is_err()
        {
            self.fail(
                "SENTRY_DSN",
                "is not a Sentry DSN like https://KEY@o0.ingest.sentry.io/PROJECT",
            );
        }
        let default_environment = match app_env {
            AppEnv::Development => "development",
            AppEnv::Test => "test",
            AppEnv::Production => "production",
        };
        ErrorTrackingConfig {
            dsn,
            environment: self.string("SENTRY_ENVIRONMENT", default_environment),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};

    #[test]
    fn sentry_is_off_by_default_and_a_bad_dsn_is_refused() {
        let config = Config::from_vars(Vec::new()).ok();
        assert!(
            config
                .as_ref()
                .is_some_and(|c| c.error_tracking.dsn.is_none())
        );
        let refused = Config::from_vars(vec![("SENTRY_DSN".to_owned(), "sentry".to_owned())]);
        let bad: Vec<&str> = match &refused {
            Err(ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
            Ok(_) => Vec::new(),
        };
        assert_eq!(bad, ["SENTRY_DSN"]);
        let set = Config::from_vars(vec![
            (
                "SENTRY_DSN".to_owned(),
                "http://key@127.0.0.1:9/1".to_owned(),
            ),
            ("SENTRY_ENVIRONMENT".to_owned(), "staging".to_owned()),
        ])
        .ok();
        assert_eq!(
            set.map(|c| c.error_tracking.environment),
            Some("staging".to_owned())
        );
    }
}
