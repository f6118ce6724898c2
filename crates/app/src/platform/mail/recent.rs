//! What the development transport and the test mailer keep of a message: everything a developer
//! (or a test) needs to read it and click its links.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::Message;
use crate::platform::clock;

/// A message as it was handed to the development or test transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub sent_at: DateTime<Utc>,
    /// `Name <address>`.
    pub from: String,
    /// The recipient's address.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentEmail {
    pub fn of(message: &Message) -> Self {
        Self {
            sent_at: clock::now(),
            from: message.from().display(),
            to: message.to().email().to_owned(),
            subject: message.subject().to_owned(),
            text: message.text().to_owned(),
            html: message.html().to_owned(),
        }
    }

    /// The `http(s)://` links of the text part, in order.
    pub fn links(&self) -> Vec<String> {
        self.text
            .split_whitespace()
            .filter(|word| word.starts_with("https://") || word.starts_with("http://"))
            // Templates may end a sentence right after a link.
            .map(|word| word.trim_end_matches(['.', ',', ';', ')']).to_owned())
            .collect()
    }
}

/// The last messages, newest first, at most `capacity` of them.
#[derive(Debug)]
pub struct RecentMail {
    capacity: usize,
    messages: Mutex<VecDeque<SentEmail>>,
}

impl RecentMail {
    /// How many `GET /dev/mail` lists.
    pub const CAPACITY: usize = 50;

    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            messages: Mutex::new(VecDeque::with_capacity(capacity)),
        }
    }

    pub fn push(&self, email: SentEmail) {
        // No code path panics while holding the lock; a poisoned one still holds valid data.
        let mut messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if messages.len() == self.capacity {
            messages.pop_back();
        }
        messages.push_front(email);
    }

    pub fn newest_first(&self) -> Vec<SentEmail> {
        let messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        messages.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(n: usize) -> SentEmail {
        SentEmail {
            sent_at: clock::now(),
            from: "App <no-reply@example.com>".into(),
            to: format!("user{n}@example.com"),
            subject: format!("Message {n}"),
            text: format!("Open https://app.example.com/verify-email?token=t{n}.\nThanks"),
            html: "<p>html</p>".into(),
        }
    }

    #[test]
    fn keeps_the_newest_up_to_its_capacity() {
        let recent = RecentMail::new(3);
        for n in 1..=5 {
            recent.push(email(n));
        }
        let subjects: Vec<_> = recent
            .newest_first()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(subjects, ["Message 5", "Message 4", "Message 3"]);
    }

    #[test]
    fn links_come_from_the_text_part_without_trailing_punctuation() {
        assert_eq!(
            email(7).links(),
            ["https://app.example.com/verify-email?token=t7"]
        );
    }
}
