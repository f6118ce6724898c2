//! The development transport: nothing is delivered. Outside production the message is logged
//! with its links, and in development the last ones are kept for `GET /dev/mail`.

use std::sync::Arc;

use super::{MailError, Mailer, Message, RecentMail, SentEmail};

pub struct LogMailer {
    /// In production the body, which holds single-use tokens, is never logged.
    pub log_body: bool,
    /// Where `GET /dev/mail` reads from (development only).
    pub recent: Option<Arc<RecentMail>>,
}

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        if self.log_body {
            tracing::info!(target: "mail", from = %message.from().display(),
                to = %message.to().display(), subject = %message.subject(),
                "email (development transport, not delivered)\n{}", message.text());
        } else {
            tracing::warn!(target: "mail", subject = %message.subject(),
                "email not delivered: MAIL_TRANSPORT is log");
        }
        if let Some(recent) = &self.recent {
            recent.push(SentEmail::of(message));
        }
        Ok(())
    }
}
