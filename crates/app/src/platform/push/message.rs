//! What a notification says, in terms every provider can carry.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Urgency {
    /// Wakes the device now: APNs priority 10, FCM `HIGH`, Web Push `Urgency: high`.
    #[default]
    High,
    /// May wait for a convenient moment (battery): APNs priority 5, FCM `NORMAL`.
    Normal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    /// Delivered to the app beside the notification (FCM `data`, APNs custom keys, the Web
    /// Push payload's `data`). FCM allows strings only, hence a string map.
    pub data: BTreeMap<String, String>,
    /// A newer message with the same key replaces an undelivered older one (APNs collapse id,
    /// FCM collapse key, Web Push `Topic`).
    pub collapse_key: Option<String>,
    /// How long the provider keeps trying to reach an offline device; zero means now or never.
    pub ttl: Duration,
    pub urgency: Urgency,
}

impl PushMessage {
    /// A notification kept for a day, high urgency, with no data.
    pub fn new(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            body: body.into(),
            data: BTreeMap::new(),
            collapse_key: None,
            ttl: Duration::from_secs(86_400),
            urgency: Urgency::High,
        }
    }

    /// The collapse key in at most `max` characters of `[A-Za-z0-9_-]`, the strictest of the
    /// providers' rules (Web Push's `Topic`): a key that does not fit is replaced by a hash
    /// of it, so two messages share a slot exactly when their keys are equal.
    pub(crate) fn collapse_key_within(&self, max: usize) -> Option<String> {
        let key = self.collapse_key.as_deref()?;
        let fits = key.len() <= max
            && !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if fits {
            return Some(key.to_owned());
        }
        let mut hashed = URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()));
        hashed.truncate(max);
        Some(hashed)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn a_collapse_key_that_does_not_fit_is_hashed_consistently() {
        let mut message = PushMessage::new("t", "b");
        assert_eq!(message.collapse_key_within(32), None);
        message.collapse_key = Some("chat-42".to_owned());
        assert_eq!(message.collapse_key_within(32).as_deref(), Some("chat-42"));
        message.collapse_key = Some("chat: 42 / thread é".to_owned());
        let hashed = message.collapse_key_within(32).unwrap();
        assert_eq!(hashed.len(), 32);
        assert_eq!(message.collapse_key_within(32), Some(hashed.clone()));
        message.collapse_key = Some("chat: 43 / thread é".to_owned());
        assert_ne!(message.collapse_key_within(32), Some(hashed));
    }
}
