//! The JSON body of `POST /v3/mail/send`, as documented by SendGrid.

use serde::Serialize;

use crate::platform::mail::{Mailbox, Message};

#[derive(Serialize)]
pub(super) struct SendRequest<'a> {
    personalizations: [Personalization<'a>; 1],
    from: Address<'a>,
    subject: &'a str,
    /// SendGrid requires text/plain before text/html when both are given.
    content: [Content<'a>; 2],
    tracking_settings: TrackingSettings,
}

#[derive(Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
}

#[derive(Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

/// Click tracking rewrites every link through SendGrid's redirector. For verification and
/// reset mail that would put the one-time token in a third party's URL (and logs) and break the
/// link if tracking is misconfigured, so it is switched off per message.
#[derive(Serialize)]
struct TrackingSettings {
    click_tracking: ClickTracking,
}

#[derive(Serialize)]
struct ClickTracking {
    enable: bool,
    enable_text: bool,
}

fn address(m: &Mailbox) -> Address<'_> {
    Address {
        email: m.email(),
        name: m.name(),
    }
}

impl<'a> SendRequest<'a> {
    pub(super) fn new(m: &'a Message) -> Self {
        Self {
            personalizations: [Personalization {
                to: [address(m.to())],
            }],
            from: address(m.from()),
            subject: m.subject(),
            content: [
                Content {
                    kind: "text/plain",
                    value: m.text(),
                },
                Content {
                    kind: "text/html",
                    value: m.html(),
                },
            ],
            tracking_settings: TrackingSettings {
                click_tracking: ClickTracking {
                    enable: false,
                    enable_text: false,
                },
            },
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn body_matches_documented_shape() {
        let from = Mailbox::new(Some("App"), "no-reply@example.com").unwrap();
        let to = Mailbox::new(None, "ada@example.com").unwrap();
        let m = Message::new(from, to, "Subj", "plain", "<p>html</p>").unwrap();
        let v = serde_json::to_value(SendRequest::new(&m)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "personalizations": [{"to": [{"email": "ada@example.com"}]}],
                "from": {"email": "no-reply@example.com", "name": "App"},
                "subject": "Subj",
                "content": [
                    {"type": "text/plain", "value": "plain"},
                    {"type": "text/html", "value": "<p>html</p>"}
                ],
                "tracking_settings": {"click_tracking": {"enable": false, "enable_text": false}}
            })
        );
    }
}
