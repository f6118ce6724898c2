//! Error tracking: with `SENTRY_DSN` set, unexpected errors (5xx answers, panics in handlers,
//! dead jobs) are sent to Sentry with the request id, the route template and the release.
//!
//! The events are built here from a few chosen fields, never from the request: no URL (ids),
//! headers (Authorization, cookies), body, user, or client address goes into them, and
//! `before_send` drops those parts again should anything add them. Job errors are sent with
//! email addresses and IP addresses masked. One client per `AppState` (not sentry's global hub),
//! so that tests and embedders each report to their own DSN.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use sentry::protocol::{Event, Level};

use crate::platform::config::Config;

/// What the error tracker needs to know about a failed request.
pub struct RequestFailure<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    /// The matched route template (`/api/data/{id}`), or `unmatched`.
    pub route: &'a str,
    pub status: u16,
    /// The panic message, when the handler panicked.
    pub panic: Option<&'a str>,
}

/// Reports to Sentry, or does nothing when `SENTRY_DSN` is unset.
#[derive(Clone, Default)]
pub struct ErrorTracker {
    client: Option<Arc<sentry::Client>>,
}

pub fn release() -> String {
    format!("aios-server@{}", env!("CARGO_PKG_VERSION"))
}

/// Drops whatever part of an event could carry personal data or secrets.
fn scrub(mut event: Event<'static>) -> Option<Event<'static>> {
    event.request = None;
    event.user = None;
    event.server_name = None;
    event.breadcrumbs = Default::default();
    event.message = event.message.map(|m| mask(&m));
    Some(event)
}

/// Masks runs of characters that look like email addresses or IP addresses.
pub fn mask(text: &str) -> String {
    fn part_of_address(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | ':' | '_' | '-' | '+' | '%')
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // Sentence punctuation after an address is not part of it.
        let bare = run.trim_end_matches(['.', ':']);
        let tail = &run[bare.len()..];
        if bare.contains('@') {
            out.push_str("[email]");
            out.push_str(tail);
        } else if !bare.is_empty() && is_ip_like(bare) {
            out.push_str("[ip]");
            out.push_str(tail);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if part_of_address(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn is_ip_like(word: &str) -> bool {
    let host = word
        .rsplit_once(':')
        .filter(|(host, port)| port.bytes().all(|b| b.is_ascii_digit()) && host.contains('.'))
        .map_or(word, |(host, _)| host);
    host.parse::<std::net::IpAddr>().is_ok()
}

impl ErrorTracker {
    /// The client for `SENTRY_DSN` (checked by the configuration), or a tracker that does nothing.
    pub fn from_config(config: &Config) -> Self {
        let Some(dsn) = &config.error_tracking.dsn else {
            return Self::default();
        };
        let Ok(dsn) = dsn.expose_secret().parse::<sentry::types::Dsn>() else {
            return Self::default();
        };
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some(dsn);
        options.release = Some(Cow::Owned(release()));
        options.environment = Some(Cow::Owned(config.error_tracking.environment.clone()));
        options.send_default_pii = false;
        options.default_integrations = false;
        options.attach_stacktrace = false;
        options.before_send = Some(Arc::new(scrub));
        options.shutdown_timeout = Duration::from_secs(2);
        Self {
            // The defaults add the transport (reqwest) and, integrations being off, nothing else.
            client: Some(Arc::new(sentry::Client::with_options(
                sentry::apply_defaults(options),
            ))),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.client.as_ref().is_some_and(|c| c.is_enabled())
    }

    fn capture(&self, event: Event<'static>) {
        if let Some(client) = &self.client {
            client.capture_event(event, None);
        }
    }

    pub fn request_failed(&self, failure: &RequestFailure<'_>) {
        if self.client.is_none() {
            return;
        }
        let message = match failure.panic {
            Some(panic) => format!("handler panicked: {panic}"),
            None => format!(
                "{} {} answered {}",
                failure.method, failure.route, failure.status
            ),
        };
        let mut event = Event {
            level: Level::Error,
            message: Some(message),
            transaction: Some(format!("{} {}", failure.method, failure.route)),
            logger: Some("aios_server::http".to_owned()),
            ..Default::default()
        };
        for (key, value) in [
            ("request_id", failure.request_id.to_owned()),
            ("route", failure.route.to_owned()),
            ("method", failure.method.to_owned()),
            ("status", failure.status.to_string()),
            (
                "kind",
                if failure.panic.is_some() {
                    "panic"
                } else {
                    "5xx"
                }
                .to_owned(),
            ),
        ] {
            event.tags.insert(key.to_owned(), value);
        }
        self.capture(event);
    }

    /// A job that failed for good: its queue (the job type), id and attempts, and its error
    /// with addresses masked.
    pub fn job_dead(&self, queue: &str, job_id: &str, attempts: u32, error: &str) {
        if self.client.is_none() {
            return;
        }
        let mut event = Event {
            level: Level::Error,
            message: Some(format!("job {queue} is dead: {}", mask(error))),
            transaction: Some(format!("job {queue}")),
            logger: Some("aios_server::jobs".to_owned()),
            ..Default::default()
        };
        for (key, value) in [
            ("job_queue", queue.to_owned()),
            ("job_id", job_id.to_owned()),
            ("attempts", attempts.to_string()),
            ("kind", "dead_job".to_owned()),
        ] {
            event.tags.insert(key.to_owned(), value);
        }
        self.capture(event);
    }

    /// Waits (up to `timeout`) until queued events are sent; at shutdown, and in tests.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client
            .as_ref()
            .is_none_or(|client| client.flush(Some(timeout)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_and_keeps_the_rest() {
        assert_eq!(
            mask("smtp refused <someone@example.com>: 550 from 10.1.2.3:25, try 2001:db8::1"),
            "smtp refused <[email]>: 550 from [ip], try [ip]"
        );
        assert_eq!(mask("timeout after 30 s"), "timeout after 30 s");
    }
}
