//! A transport that keeps every message in memory: for tests and for embedding the server.

use std::sync::{Arc, Mutex};

use super::{MailError, Mailer, Message, SentEmail};

#[derive(Default, Clone)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<SentEmail>>>,
}

impl MemoryMailer {
    /// Every message so far, oldest first.
    pub fn sent(&self) -> Vec<SentEmail> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError::transient("mailbox lock poisoned", None, None))?
            .push(SentEmail::of(message));
        Ok(())
    }
}
