//! The email settings: the sender, the links, the transport and its circuit breaker.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::Vars;
use crate::platform::mail::sendgrid::{self, DEFAULT_BASE_URL};
use crate::platform::mail::smtp::SmtpUrl;
use crate::platform::mail::{Mailbox, templates};

const DEFAULT_FROM: &str = "aios-server <no-reply@localhost>";

pub struct MailConfig {
    /// `MAIL_FROM`.
    pub from: Mailbox,
    /// Base of the links put in emails (`{APP_URL}/reset-password?token=...`), without a
    /// trailing slash.
    pub app_url: String,
    pub transport: MailTransport,
    /// Deadline of one send, connecting included.
    pub timeout: Duration,
    /// Consecutive transient failures that open the provider's circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open before one message probes the provider again.
    pub breaker_cool_down: Duration,
}

/// `MAIL_TRANSPORT`.
pub enum MailTransport {
    /// Deliver nothing: log the message (outside production) and, in development, keep the
    /// last ones for `GET /dev/mail`.
    Log,
    Smtp {
        url: SmtpUrl,
        /// Extra PEM roots, e.g. a private relay's CA.
        ca_file: Option<PathBuf>,
    },
    SendGrid {
        api_key: SecretString,
        base_url: String,
    },
}

impl Vars {
    pub(super) fn mail(&mut self, production: bool, port: u16) -> MailConfig {
        let transport = self.mail_transport(production);
        let delivers = !matches!(transport, MailTransport::Log);
        // On a developer's machine the defaults work; in production they would send mail
        // from a made-up address with links to localhost.
        if production && delivers {
            for var in ["MAIL_FROM", "APP_URL"] {
                if self.raw(var).is_none() {
                    self.fail(
                        var,
                        "is required in production when email is delivered (MAIL_TRANSPORT)",
                    );
                }
            }
        }
        let from = match Mailbox::parse(&self.string("MAIL_FROM", DEFAULT_FROM)) {
            Ok(from) => from,
            Err(err) => {
                self.fail("MAIL_FROM", err.to_string());
                // Never used: a configuration with an issue is refused as a whole.
                Mailbox::development_sender()
            }
        };
        let app_url = self
            .string("APP_URL", &format!("http://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned();
        if let Err(err) = templates::parse_app_url(&app_url) {
            self.fail("APP_URL", err.to_string());
        }
        MailConfig {
            from,
            app_url,
            transport,
            // Well within the outbox relay's 60 s lease on an event.
            timeout: self.secs("MAIL_TIMEOUT_SECS", 15, 1, 50),
            breaker_threshold: self.ranged("MAIL_BREAKER_THRESHOLD", 5, 1, 1000) as u32,
            breaker_cool_down: self.secs("MAIL_BREAKER_COOLDOWN_SECS", 30, 1, 3600),
        }
    }

    fn mail_transport(&mut self, production: bool) -> MailTransport {
        let chosen = self.raw("MAIL_TRANSPORT").map(str::to_ascii_lowercase);
        let transport = match chosen.as_deref() {
            None if production => {
                self.fail(
                    "MAIL_TRANSPORT",
                    "is required in production: smtp or sendgrid (or log, to deliver no email \
                     on purpose)",
                );
                MailTransport::Log
            }
            None | Some("log") => MailTransport::Log,
            Some("smtp") => self.smtp(),
            Some("sendgrid") => self.sendgrid(),
            Some(other) => {
                let message = format!("expected log, smtp or sendgrid, got {other:?}");
                self.fail("MAIL_TRANSPORT", message);
                MailTransport::Log
            }
        };
        // A transport's settings without `MAIL_TRANSPORT` would be ignored in silence: the
        // mail would only be logged.
        if chosen.is_none() {
            for var in [
                "SMTP_URL",
                "SMTP_CA_FILE",
                "SENDGRID_API_KEY",
                "SENDGRID_BASE_URL",
            ] {
                if self.raw(var).is_some() {
                    self.fail(var, "is set, but MAIL_TRANSPORT is not: set it to use this");
                }
            }
        }
        transport
    }

    fn smtp(&mut self) -> MailTransport {
        let ca_file = self.raw("SMTP_CA_FILE").map(PathBuf::from);
        let Some(raw) = self.secret("SMTP_URL") else {
            self.fail("SMTP_URL", "is required with MAIL_TRANSPORT=smtp");
            return MailTransport::Log;
        };
        match SmtpUrl::parse(raw.expose_secret()) {
            Ok(url) => MailTransport::Smtp { url, ca_file },
            Err(err) => {
                self.fail("SMTP_URL", err.to_string());
                MailTransport::Log
            }
        }
    }

    fn sendgrid(&mut self) -> MailTransport {
        let base_url = self.string("SENDGRID_BASE_URL", DEFAULT_BASE_URL);
        if let Err(err) = sendgrid::endpoint(&base_url) {
            self.fail("SENDGRID_BASE_URL", err.to_string());
        }
        let Some(api_key) = self.secret("SENDGRID_API_KEY") else {
            self.fail(
                "SENDGRID_API_KEY",
                "is required with MAIL_TRANSPORT=sendgrid",
            );
            return MailTransport::Log;
        };
        if let Err(err) = sendgrid::check_api_key(api_key.expose_secret()) {
            self.fail("SENDGRID_API_KEY", err.to_string());
        }
        MailTransport::SendGrid { api_key, base_url }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::super::{Config, ConfigError};
    use super::*;
    use crate::platform::mail::smtp::TlsMode;

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

    const PRODUCTION: [(&str, &str); 3] = [
        ("APP_ENV", "production"),
        ("JWT_SECRET", "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy"),
        ("METRICS_TOKEN", "scrape-token"),
    ];

    fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = PRODUCTION.to_vec();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn development_defaults_to_the_log_transport_with_working_links() {
        let config = parse(&[("PORT", "8080")]).ok();
        let mail = config.as_ref().map(|c| &c.mail);
        assert!(mail.is_some_and(|m| matches!(m.transport, MailTransport::Log)));
        assert_eq!(
            mail.map(|m| m.app_url.as_str()),
            Some("http://localhost:8080")
        );
        assert_eq!(
            mail.map(|m| m.from.display()).as_deref(),
            Some(DEFAULT_FROM)
        );
        assert_eq!(mail.map(|m| m.timeout), Some(Duration::from_secs(15)));
        assert_eq!(mail.map(|m| m.breaker_threshold), Some(5));
        assert_eq!(
            mail.map(|m| m.breaker_cool_down),
            Some(Duration::from_secs(30))
        );
        let auth = config.as_ref().map(|c| &c.auth);
        assert_eq!(
            auth.map(|a| a.password_reset_ttl),
            Some(Duration::from_secs(30 * 60))
        );
        assert_eq!(
            auth.map(|a| a.email_verification_ttl),
            Some(Duration::from_secs(24 * 3600))
        );
    }

    #[test]
    fn production_needs_a_deliberate_transport_and_real_links_when_it_delivers() {
        assert_eq!(failing(&production(&[])), ["MAIL_TRANSPORT"]);
        // Deliberately no email: allowed (with a warning at start-up).
        assert!(failing(&production(&[("MAIL_TRANSPORT", "log")])).is_empty());
        let smtp = [
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", "smtps://u:p@mail.example.com"),
        ];
        assert_eq!(failing(&production(&smtp)), ["MAIL_FROM", "APP_URL"]);
        let mut complete = production(&smtp);
        complete.extend([
            ("MAIL_FROM", "Acme <no-reply@acme.example>"),
            ("APP_URL", "https://app.acme.example/"),
        ]);
        let config = parse(&complete).ok();
        let mail = config.as_ref().map(|c| &c.mail);
        assert_eq!(
            mail.map(|m| m.app_url.as_str()),
            Some("https://app.acme.example")
        );
        let Some(MailTransport::Smtp { url, ca_file: None }) = mail.map(|m| &m.transport) else {
            panic!("expected the SMTP transport");
        };
        assert_eq!(
            (url.host.as_str(), url.port, url.tls),
            ("mail.example.com", 465, TlsMode::Implicit)
        );
    }

    #[test]
    fn each_transport_needs_its_own_settings() {
        assert_eq!(failing(&[("MAIL_TRANSPORT", "smtp")]), ["SMTP_URL"]);
        assert_eq!(
            failing(&[("MAIL_TRANSPORT", "sendgrid")]),
            ["SENDGRID_API_KEY"]
        );
        assert_eq!(
            failing(&[("MAIL_TRANSPORT", "postfix")]),
            ["MAIL_TRANSPORT"]
        );
        assert_eq!(
            failing(&[
                ("MAIL_TRANSPORT", "smtp"),
                ("SMTP_URL", "smtp://relay.example.com?tls=none")
            ]),
            ["SMTP_URL"]
        );
        let config = parse(&[
            ("MAIL_TRANSPORT", "SendGrid"),
            ("SENDGRID_API_KEY", "SG.key"),
            ("SENDGRID_BASE_URL", "http://127.0.0.1:9000"),
        ])
        .ok();
        let Some(MailTransport::SendGrid { api_key, base_url }) =
            config.as_ref().map(|c| &c.mail.transport)
        else {
            panic!("expected the SendGrid transport");
        };
        assert_eq!(
            (api_key.expose_secret(), base_url.as_str()),
            ("SG.key", "http://127.0.0.1:9000")
        );
        assert_eq!(
            failing(&[
                ("MAIL_TRANSPORT", "sendgrid"),
                ("SENDGRID_API_KEY", "SG.key"),
                ("SENDGRID_BASE_URL", "http://api.sendgrid.com"),
            ]),
            ["SENDGRID_BASE_URL"]
        );
    }

    #[test]
    fn a_transport_setting_without_the_transport_is_a_mistake() {
        assert_eq!(
            failing(&[("SMTP_URL", "smtp://mail.example.com")]),
            ["SMTP_URL"]
        );
        assert_eq!(
            failing(&[("SENDGRID_API_KEY", "SG.key")]),
            ["SENDGRID_API_KEY"]
        );
        // With a transport chosen, another transport's settings are left alone.
        assert!(
            failing(&[
                ("MAIL_TRANSPORT", "log"),
                ("SMTP_URL", "smtp://m.example.com")
            ])
            .is_empty()
        );
    }

    #[test]
    fn addresses_links_lifetimes_and_the_breaker_are_checked() {
        assert_eq!(failing(&[("MAIL_FROM", "not an address")]), ["MAIL_FROM"]);
        assert_eq!(failing(&[("APP_URL", "app.example.com")]), ["APP_URL"]);
        assert_eq!(
            failing(&[("APP_URL", "https://a.example/?next=1")]),
            ["APP_URL"]
        );
        assert_eq!(
            failing(&[
                ("PASSWORD_RESET_TOKEN_TTL", "10s"),
                ("EMAIL_VERIFICATION_TOKEN_TTL", "90d")
            ]),
            ["PASSWORD_RESET_TOKEN_TTL", "EMAIL_VERIFICATION_TOKEN_TTL"]
        );
        assert_eq!(
            failing(&[
                ("MAIL_BREAKER_THRESHOLD", "0"),
                ("MAIL_BREAKER_COOLDOWN_SECS", "soon"),
                ("MAIL_TIMEOUT_SECS", "120"),
            ]),
            [
                "MAIL_TIMEOUT_SECS",
                "MAIL_BREAKER_THRESHOLD",
                "MAIL_BREAKER_COOLDOWN_SECS"
            ]
        );
        let config = parse(&[("PASSWORD_RESET_TOKEN_TTL", "45m")]).ok();
        assert_eq!(
            config.map(|c| c.auth.password_reset_ttl),
            Some(Duration::from_secs(45 * 60))
        );
    }
}
