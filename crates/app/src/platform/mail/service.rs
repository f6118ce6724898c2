//! What jobs send mail through: the transport behind the provider's circuit breaker, the
//! templates and the sender, with every outcome turned into what the job runner must do.
//!
//! A job asks first ([`MailService::admit`]): while the breaker is open that is a
//! `JobError::Defer`, before the job has written anything (no token is issued for a message
//! that cannot leave). Once admitted, the send's outcome is reported to the breaker:
//! - delivered: success;
//! - refused for good (`MailError::Permanent`): the provider answered, so it is healthy (a
//!   success for the breaker), and the job gets `JobError::Permanent` (given up at once);
//! - transient: a failure for the breaker (enough in a row open it), and `JobError::Retry`
//!   with the provider's `Retry-After` when it gave one.
//!
//! A half-open breaker admits one probe; its success closes the circuit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::sendgrid::{SendGridConfig, SendGridMailer};
use super::smtp::{SmtpMailer, SmtpOptions};
use super::templates::{Rendered, Templates};
use super::{LogMailer, MailError, Mailbox, RecentMail, SharedMailer};
use crate::platform::breaker::{BreakerConfig, Breakers, CircuitBreaker, Permit};
use crate::platform::config::{AppEnv, Config, MailTransport};
use crate::platform::jobs::error::JobError;

/// The name of the mail provider's breaker, in `/health` and the metrics.
pub const BREAKER: &str = "mail";

/// A provider asking for more than this is retried after it anyway (the runner's longest
/// backoff), rather than parking the message for a day.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub struct MailService {
    transport: SharedMailer,
    breaker: Arc<CircuitBreaker>,
    templates: Templates,
    from: Mailbox,
    recent: Option<Arc<RecentMail>>,
}

/// Permission to send one message now. Dropping it unused frees the breaker's probe slot.
pub struct Admission<'a> {
    service: &'a MailService,
    permit: Permit<'a>,
}

impl MailService {
    /// The configured transport, or `transport` when given (tests, embedders).
    pub async fn from_config(
        config: &Config,
        breakers: &Breakers,
        transport: Option<SharedMailer>,
    ) -> anyhow::Result<Self> {
        let mail = &config.mail;
        let keeps_recent = transport.is_none()
            && config.app_env == AppEnv::Development
            && matches!(mail.transport, MailTransport::Log);
        let recent = keeps_recent.then(|| Arc::new(RecentMail::new(RecentMail::CAPACITY)));
        let transport = match transport {
            Some(transport) => transport,
            None => configured_transport(config, recent.clone()).await?,
        };
        let breaker = breakers.get_or_create(
            BREAKER,
            BreakerConfig {
                failure_threshold: mail.breaker_threshold,
                cool_down: mail.breaker_cool_down,
            },
        );
        // The sender's display name is the product's name in the messages.
        let product_name = mail.from.name().unwrap_or("aios-server");
        let templates = Templates::new(&mail.app_url, product_name).context("APP_URL")?;
        Ok(Self {
            transport,
            breaker,
            templates,
            from: mail.from.clone(),
            recent,
        })
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The last messages of the development transport: `Some` only in development with
    /// `MAIL_TRANSPORT=log`, which is when `GET /dev/mail` exists.
    pub fn recent(&self) -> Option<&RecentMail> {
        self.recent.as_deref()
    }

    /// `JobError::Defer` while the provider's circuit is open: call this before doing any work
    /// the message needs.
    pub fn admit(&self) -> Result<Admission<'_>, JobError> {
        match self.breaker.try_acquire() {
            Ok(permit) => Ok(Admission {
                service: self,
                permit,
            }),
            Err(rejected) => {
                count("deferred");
                Err(JobError::Defer {
                    after: rejected.retry_in,
                    reason: "the mail provider's circuit is open".to_owned(),
                })
            }
        }
    }
}

impl Admission<'_> {
    /// Sends `email` to the address `to`. The recipient gets no display name: the greeting
    /// carries the user's name, and a name can never corrupt the header.
    pub async fn send(self, to: &str, email: Rendered) -> Result<(), JobError> {
        let permanent = |e: super::message::InvalidMessage| JobError::Permanent(e.to_string());
        let to = Mailbox::new(None, to).map_err(permanent)?;
        let message = email
            .into_message(self.service.from.clone(), to)
            .map_err(permanent)?;
        match self.service.transport.send(&message).await {
            Ok(()) => {
                self.permit.success();
                count("sent");
                Ok(())
            }
            Err(err @ MailError::Permanent { .. }) => {
                self.permit.success();
                count("rejected");
                Err(JobError::Permanent(err.to_string()))
            }
            Err(err @ MailError::Transient { .. }) => {
                self.permit.failure();
                count("failed");
                Err(JobError::Retry {
                    reason: err.to_string(),
                    retry_after: err.retry_after().map(|d| d.min(LONGEST_RETRY_AFTER)),
                })
            }
        }
    }
}

/// `outcome` is one of four words, so the series stay bounded.
fn count(outcome: &'static str) {
    metrics::counter!("mail_messages_total", "outcome" => outcome).increment(1);
}

async fn configured_transport(
    config: &Config,
    recent: Option<Arc<RecentMail>>,
) -> anyhow::Result<SharedMailer> {
    let mail = &config.mail;
    // Connecting should take a fraction of the whole send.
    let connect_timeout = mail.timeout.min(Duration::from_secs(10));
    Ok(match &mail.transport {
        MailTransport::Log => {
            if config.is_production() {
                tracing::warn!(
                    "MAIL_TRANSPORT=log in production: no email is delivered, so users cannot \
                     verify their address or reset a password"
                );
            } else if recent.is_some() {
                tracing::info!(
                    "emails are not delivered (MAIL_TRANSPORT=log): read them in the log or at \
                     GET /dev/mail"
                );
            }
            Arc::new(LogMailer {
                log_body: !config.is_production(),
                recent,
            })
        }
        MailTransport::Smtp { url, ca_file } => {
            let extra_root_pem = match ca_file {
                Some(path) => Some(
                    tokio::fs::read(path)
                        .await
                        .with_context(|| format!("reading SMTP_CA_FILE {}", path.display()))?,
                ),
                None => None,
            };
            let options = SmtpOptions {
                connect_timeout,
                send_timeout: mail.timeout,
                extra_root_pem,
                ..SmtpOptions::default()
            };
            let mailer = SmtpMailer::new(url, options).context("SMTP_URL, SMTP_CA_FILE")?;
            Arc::new(mailer)
        }
        MailTransport::SendGrid { api_key, base_url } => {
            let sendgrid = SendGridConfig {
                api_key: api_key.clone(),
                base_url: base_url.clone(),
                connect_timeout,
                request_timeout: mail.timeout,
            };
            Arc::new(SendGridMailer::new(&sendgrid).context("SENDGRID_API_KEY")?)
        }
    })
}
