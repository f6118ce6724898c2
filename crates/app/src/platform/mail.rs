//! Outgoing email behind a small trait. Email is always sent from a background job (the outbox
//! relay), never from a request. This issue ships the development transport, which logs the
//! message (in production it logs only that a message was not delivered, never its links);
//! real transports (SMTP, SendGrid) plug in behind the same trait.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `MAIL_FROM`.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("email delivery failed: {0}")]
pub struct MailError(pub String);

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

pub type SharedMailer = Arc<dyn Mailer>;

/// Development transport: writes the message to the log so a developer can click the link.
pub struct LogMailer {
    /// In production the body (which holds single-use tokens) is never logged.
    pub log_body: bool,
}

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        if self.log_body {
            tracing::info!(target: "mail", from = %email.from, subject = %email.subject,
                "email (development transport, not delivered)\n{}", email.text);
        } else {
            tracing::warn!(target: "mail", subject = %email.subject,
                "email not delivered: no mail transport is configured");
        }
        Ok(())
    }
}

/// Keeps sent messages in memory: for tests and for embedding the server in other programs.
#[derive(Default, Clone)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<Email>>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError("mailbox lock poisoned".to_owned()))?
            .push(email.clone());
        Ok(())
    }
}

/// Until transports report what kind of failure they met, every one is worth a retry.
impl From<MailError> for crate::platform::jobs::error::JobError {
    fn from(err: MailError) -> Self {
        Self::retry(err)
    }
}
