//! Outgoing email. Email is always sent from a background job (see `platform::jobs`), never from a
//! request, so a slow or absent provider never slows a request down.
//!
//! - [`Mailer`]: hands one [`Message`] to a provider. The transports, chosen by
//!   `MAIL_TRANSPORT`: [`LogMailer`] (development: logs the message and keeps the last ones
//!   for `GET /dev/mail`), [`smtp::SmtpMailer`] (lettre, pooled) and
//!   [`sendgrid::SendGridMailer`] (the v3 HTTP API). [`MemoryMailer`] is for tests.
//! - [`templates::Templates`]: the text and HTML parts, rendered from embedded templates.
//! - [`MailService`]: what jobs use. It puts the provider behind its circuit breaker (`mail`)
//!   and turns each failure into the `JobError` the runner acts on.

mod error;
mod log;
mod memory;
mod message;
mod net;
mod recent;
mod retry_after;
pub mod sendgrid;
mod service;
pub mod smtp;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use crate::platform::jobs::spec::JobSpec;

pub use error::{MailError, SetupError};
pub use log::LogMailer;
pub use memory::MemoryMailer;
pub use message::{Mailbox, Message};
pub use recent::{RecentMail, SentEmail};
pub use service::{Admission, MailService};

/// Hands a message to a provider. Implementations bound their own time: `send` returns within
/// the transport's timeout, with a [`MailError`] that says whether a retry can help.
///
/// `async_trait` (a boxed future) because the transport is chosen at start-up and held as
/// `dyn Mailer`.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

pub type SharedMailer = Arc<dyn Mailer>;

/// The limits of every job that sends one email.
///
/// The deadline covers the longest `MAIL_TIMEOUT_SECS` (50 s) plus the token and template work
/// around the send, so a slow provider fails as the transport's own timeout. The retries outlast
/// a provider outage of hours, not minutes: 16 attempts, doubling from 2 s up to 30 min between
/// two, are 1.5 to 3 hours of waiting (the jitter is half to all of each wait), and the waits
/// while the circuit is open spend no attempt at all.
pub fn job_spec() -> JobSpec {
    JobSpec {
        timeout: Duration::from_secs(60),
        max_attempts: 16,
        backoff_max: Duration::from_secs(30 * 60),
        ..JobSpec::default()
    }
}
