//! The settings of the HTTP listeners: connection timeouts and limits, and the separate
//! metrics listener.

use std::net::SocketAddr;
use std::time::Duration;

use super::Vars;

/// How long a connection may take over a request head or sit idle, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// From accepting a connection, or from the first byte of a request on a keep-alive one,
    /// to a complete request head.
    pub header_timeout: Duration,
    /// How long a keep-alive connection with nothing in flight stays open.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Vars {
    pub(super) fn connections(&mut self) -> ConnectionConfig {
        ConnectionConfig {
            header_timeout: self.secs("HTTP_HEADER_TIMEOUT_SECS", 10, 1, 300),
            // Longer than the usual 60 s of load balancers, so that they close first and never
            // send a request on a connection the server is closing.
            idle_timeout: self.secs("HTTP_IDLE_TIMEOUT_SECS", 75, 1, 3600),
            max_connections: self.ranged("MAX_CONNECTIONS", 10_000, 1, 1_000_000) as usize,
        }
    }

    /// `METRICS_ADDR`. Production refuses a `/metrics` anyone can read: on the public port it
    /// needs `METRICS_TOKEN`; on its own listener it is as private as that address.
    pub(super) fn metrics_addr(&mut self, production: bool, token_set: bool) -> Option<SocketAddr> {
        let raw = self.raw("METRICS_ADDR").map(str::to_owned);
        if production && !token_set && raw.is_none() {
            self.fail(
                "METRICS_TOKEN",
                "is required in production, unless METRICS_ADDR serves /metrics on a separate \
                 (private) address",
            );
        }
        let raw = raw?;
        match raw.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                let message =
                    format!("expected an address and port like 127.0.0.1:9100, got {raw:?}");
                self.fail("METRICS_ADDR", message);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    fn failing(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        match parse(pairs) {
            Ok(_) => Vec::new(),
            Err(ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
        }
    }

    #[test]
    fn connection_limits_have_defaults_and_ranges() {
        let config = parse(&[]).ok();
        assert_eq!(
            config.map(|c| c.connections),
            Some(ConnectionConfig {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(75),
                max_connections: 10_000,
            })
        );
        let config = parse(&[
            ("HTTP_HEADER_TIMEOUT_SECS", "2"),
            ("HTTP_IDLE_TIMEOUT_SECS", "30"),
            ("MAX_CONNECTIONS", "50"),
        ])
        .ok();
        assert_eq!(config.map(|c| c.connections.max_connections), Some(50));
        assert_eq!(
            failing(&[
                ("HTTP_HEADER_TIMEOUT_SECS", "0"),
                ("HTTP_IDLE_TIMEOUT_SECS", "forever"),
                ("MAX_CONNECTIONS", "0"),
            ]),
            [
                "HTTP_HEADER_TIMEOUT_SECS",
                "HTTP_IDLE_TIMEOUT_SECS",
                "MAX_CONNECTIONS"
            ]
        );
    }

    #[test]
    fn production_needs_a_metrics_token_or_a_separate_metrics_listener() {
        let secret = "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy";
        let production = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", secret),
            ("MAIL_TRANSPORT", "log"),
        ];
        assert_eq!(failing(&production), ["METRICS_TOKEN"]);
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = production.to_vec();
            vars.push(extra);
            failing(&vars)
        };
        assert!(with(("METRICS_TOKEN", "scrape-token")).is_empty());
        assert!(with(("METRICS_ADDR", "127.0.0.1:9100")).is_empty());
        assert_eq!(with(("METRICS_ADDR", "localhost")), ["METRICS_ADDR"]);
        assert!(failing(&[]).is_empty(), "development keeps /metrics open");

        let config = parse(&[("METRICS_ADDR", "127.0.0.1:9100")]).ok();
        assert_eq!(
            config.and_then(|c| c.metrics_addr),
            "127.0.0.1:9100".parse().ok()
        );
    }
}
