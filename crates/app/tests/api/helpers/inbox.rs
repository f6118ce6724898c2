//! The in-memory mailbox of the default `TestApp`: waiting for a message, and the token of its
//! link.

use std::time::Duration;

use aios_app::platform::mail::SentEmail;

use super::TestApp;

impl TestApp {
    /// Waits (up to 10 s) for an email to `to` whose subject contains `subject`.
    pub async fn wait_for_email(&self, to: &str, subject: &str) -> SentEmail {
        self.wait_for_emails(to, subject, 1).await.remove(0)
    }

    pub async fn wait_for_emails(&self, to: &str, subject: &str, count: usize) -> Vec<SentEmail> {
        for _ in 0..200 {
            let found: Vec<SentEmail> = self
                .mailer
                .sent()
                .into_iter()
                .filter(|e| e.to == to && e.subject.contains(subject))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no email {subject:?} to {to} arrived; sent: {:?}",
            self.mailer.sent()
        );
    }
}

/// The token in an emailed link (`...?token=XYZ`).
pub fn token_in(email: &SentEmail) -> String {
    token_in_text(&email.text)
}

/// The token of the first `token=` link in `text`.
pub fn token_in_text(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
