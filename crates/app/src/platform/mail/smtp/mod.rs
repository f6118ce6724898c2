//! The SMTP transport on lettre: pooled connections, TLS through rustls and ring, every send
//! bounded in time.

mod classify;
mod url;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

pub use self::url::{SmtpUrl, TlsMode};
use super::{MailError, Mailbox, Mailer, Message, SetupError};

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Tuning of [`SmtpMailer`].
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    /// TCP connect timeout (lettre applies its `timeout` to the connect only).
    pub connect_timeout: Duration,
    /// Deadline of one whole send: pool checkout, TLS, AUTH, MAIL, RCPT and DATA. lettre's
    /// tokio client has no per-command read timeout, so this is the only guard against a server
    /// that accepts the connection and then stops answering.
    pub send_timeout: Duration,
    /// Idle connections kept for reuse.
    pub pool_max_size: u32,
    pub pool_idle_timeout: Duration,
    /// PEM roots trusted in addition to the platform's (a private relay's CA, or a test CA).
    pub extra_root_pem: Option<Vec<u8>>,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            pool_max_size: 4,
            pool_idle_timeout: Duration::from_secs(60),
            extra_root_pem: None,
        }
    }
}

/// A [`Mailer`] speaking SMTP submission to one relay.
pub struct SmtpMailer {
    builder: AsyncSmtpTransportBuilder,
    send_timeout: Duration,
    // Swapped for a fresh pool after a timeout; see `discard_pool`.
    transport: RwLock<Arc<Transport>>,
}

impl std::fmt::Debug for SmtpMailer {
    // The builder holds the credentials: print nothing of it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Builds the mailer. It connects lazily, on the first send, so a relay that is down at
    /// start-up costs nothing until mail is due. Must run inside the tokio runtime (the pool
    /// spawns its idle reaper).
    pub fn new(url: &SmtpUrl, options: SmtpOptions) -> Result<Self, SetupError> {
        crate::platform::tls::install_default_provider();
        let tls = tls_for(url, options.extra_root_pem.as_deref())?;
        // builder_dangerous means "no TLS unless set": it is always set explicitly here.
        let mut builder = Transport::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(tls)
            .timeout(Some(options.connect_timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(options.pool_max_size)
                    .idle_timeout(options.pool_idle_timeout),
            );
        if let Some((user, pass)) = &url.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        let transport = RwLock::new(Arc::new(builder.clone().build()));
        Ok(Self {
            builder,
            send_timeout: options.send_timeout,
            transport,
        })
    }

    /// Opens (or reuses) a connection and runs EHLO, STARTTLS and AUTH without sending mail.
    pub async fn check_connection(&self) -> Result<(), MailError> {
        let transport = self.current();
        match tokio::time::timeout(self.send_timeout, transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::transient(
                "the SMTP server did not answer NOOP",
                None,
                None,
            )),
            Ok(Err(e)) => Err(classify::classify(&e)),
            Err(_) => {
                self.discard_pool(&transport);
                Err(MailError::transient(
                    "the SMTP connection check timed out",
                    None,
                    None,
                ))
            }
        }
    }

    fn current(&self) -> Arc<Transport> {
        // A poisoned lock only means a panic elsewhere; the Arc inside is still valid.
        Arc::clone(&self.transport.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// After a timeout, lettre's pool recycles the cancelled connection mid-conversation
    /// (dropping it does not mark it broken), so its late replies could be read as answers to
    /// the next message's commands. Replacing the whole pool makes sure no such connection is
    /// reused; the old pool closes its connections when its last user lets go.
    fn discard_pool(&self, failed: &Arc<Transport>) {
        let mut slot = self.transport.write().unwrap_or_else(|p| p.into_inner());
        // Several sends may time out together: replace the pool once, not once per send.
        if Arc::ptr_eq(&slot, failed) {
            *slot = Arc::new(self.builder.clone().build());
        }
    }
}

fn tls_for(url: &SmtpUrl, extra_root_pem: Option<&[u8]>) -> Result<Tls, SetupError> {
    let params = || -> Result<TlsParameters, SetupError> {
        let tls_err = |e: lettre::transport::smtp::Error| SetupError::new(format!("TLS: {e}"));
        let mut b = TlsParameters::builder(url.host.clone());
        if let Some(pem) = extra_root_pem {
            b = b.add_root_certificate(Certificate::from_pem(pem).map_err(tls_err)?);
        }
        b.build_rustls().map_err(tls_err)
    };
    Ok(match url.tls {
        TlsMode::Implicit => Tls::Wrapper(params()?),
        TlsMode::StartTlsRequired => Tls::Required(params()?),
        TlsMode::StartTlsOpportunistic => Tls::Opportunistic(params()?),
        TlsMode::None => Tls::None,
    })
}

fn lettre_mailbox(m: &Mailbox) -> Result<LettreMailbox, MailError> {
    let address = m
        .email()
        .parse()
        .map_err(|e| MailError::permanent(format!("address refused by lettre: {e}"), None))?;
    Ok(LettreMailbox::new(m.name().map(str::to_owned), address))
}

/// The MIME message: multipart/alternative with text/plain first and text/html last (RFC 2046:
/// the last part is the preferred one), plus Date and Message-ID.
fn to_lettre(m: &Message) -> Result<lettre::Message, MailError> {
    lettre::Message::builder()
        .from(lettre_mailbox(m.from())?)
        .to(lettre_mailbox(m.to())?)
        .subject(m.subject())
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            m.text().to_owned(),
            m.html().to_owned(),
        ))
        .map_err(|e| MailError::permanent(format!("the message could not be built: {e}"), None))
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let email = to_lettre(message)?;
        let transport = self.current();
        match tokio::time::timeout(self.send_timeout, transport.send(email)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(classify::classify(&e)),
            Err(_) => {
                self.discard_pool(&transport);
                // The server may have taken the message before the deadline, so a retry can
                // deliver it twice: acceptable for verification and reset mail.
                Err(MailError::transient("the SMTP send timed out", None, None))
            }
        }
    }
}
