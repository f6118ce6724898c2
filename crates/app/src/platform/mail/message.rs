//! A provider-neutral email: one sender, one recipient, a subject and two bodies.
//!
//! The checks here are shallow on purpose: they rule out what could corrupt a header (CR, LF
//! and other control characters) or is plainly not an address. Full RFC 5321/5322 checks happen
//! in the transport (lettre, or SendGrid's API), where a refusal is a permanent failure.

use std::fmt;

use super::MailError;

/// An address with an optional display name, e.g. `Ada <ada@example.com>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: Option<String>,
    email: String,
}

/// Why a [`Mailbox`] or [`Message`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message: {0}")]
pub struct InvalidMessage(&'static str);

impl From<InvalidMessage> for MailError {
    // A message that cannot exist does not become valid on retry.
    fn from(e: InvalidMessage) -> Self {
        MailError::permanent(e.to_string(), None)
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

impl Mailbox {
    pub fn new(name: Option<&str>, email: &str) -> Result<Self, InvalidMessage> {
        let email = email.trim();
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(InvalidMessage("address has no '@'"));
        };
        if local.is_empty() || domain.is_empty() {
            return Err(InvalidMessage("address has an empty local part or domain"));
        }
        // Whitespace, angle brackets and controls would let an address smuggle in a header.
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(InvalidMessage(
                "address contains whitespace, '<', '>' or control characters",
            ));
        }
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(has_control) {
            return Err(InvalidMessage("display name contains control characters"));
        }
        Ok(Self {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        })
    }

    /// `Name <address>`, `"Quoted, Name" <address>` or a bare address, as in `MAIL_FROM`.
    pub fn parse(raw: &str) -> Result<Self, InvalidMessage> {
        let parsed: lettre::message::Mailbox = raw
            .trim()
            .parse()
            .map_err(|_| InvalidMessage("not an address like Name <name@example.com>"))?;
        Self::new(parsed.name.as_deref(), parsed.email.as_ref())
    }

    /// `aios-server <no-reply@localhost>`, the development default of `MAIL_FROM`.
    pub fn development_sender() -> Self {
        Self {
            name: Some("aios-server".to_owned()),
            email: "no-reply@localhost".to_owned(),
        }
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `Name <address>` for display (the development mailbox); not for a header.
    pub fn display(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} <{}>", self.email),
            None => self.email.clone(),
        }
    }
}

impl fmt::Debug for Mailbox {
    // Addresses are personal data: keep them out of logs that print whole structs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mailbox(<redacted>)")
    }
}

/// A transactional email with a plain-text and an HTML alternative.
#[derive(Clone, Debug)]
pub struct Message {
    from: Mailbox,
    to: Mailbox,
    subject: String,
    text: String,
    html: String,
}

impl Message {
    pub fn new(
        from: Mailbox,
        to: Mailbox,
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
    ) -> Result<Self, InvalidMessage> {
        let subject = subject.into();
        if subject.trim().is_empty() {
            return Err(InvalidMessage("empty subject"));
        }
        if has_control(&subject) {
            return Err(InvalidMessage("subject contains control characters"));
        }
        let (text, html) = (text.into(), html.into());
        if text.trim().is_empty() || html.trim().is_empty() {
            // Both parts are always sent: SendGrid and multipart/alternative want both.
            return Err(InvalidMessage("text and HTML parts must both be non-empty"));
        }
        Ok(Self {
            from,
            to,
            subject,
            text,
            html,
        })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }
    pub fn to(&self) -> &Mailbox {
        &self.to
    }
    pub fn subject(&self) -> &str {
        &self.subject
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn html(&self) -> &str {
        &self.html
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn mailbox_refuses_header_injection() {
        assert!(Mailbox::new(None, "a@b.example\r\nBcc: x@y.example").is_err());
        assert!(Mailbox::new(Some("Eve\r\nBcc: x@y.example"), "a@b.example").is_err());
        assert!(Mailbox::new(None, "Eve <a@b.example>").is_err());
        assert!(Mailbox::new(None, "no-at-sign").is_err());
        assert!(Mailbox::new(None, "@b.example").is_err());
    }

    #[test]
    fn mailbox_keeps_unicode_names_and_drops_blank_ones() {
        let m = Mailbox::new(Some("  Zoë  "), " zoe@example.com ").unwrap();
        assert_eq!((m.name(), m.email()), (Some("Zoë"), "zoe@example.com"));
        assert_eq!(
            Mailbox::new(Some(" "), "z@example.com").unwrap().name(),
            None
        );
        assert_eq!(format!("{m:?}"), "Mailbox(<redacted>)");
    }

    #[test]
    fn mail_from_forms_parse() {
        let m = Mailbox::parse("aios-server <no-reply@localhost>").unwrap();
        assert_eq!(
            (m.name(), m.email()),
            (Some("aios-server"), "no-reply@localhost")
        );
        let m = Mailbox::parse("\"Acme, Inc.\" <hello@acme.example>").unwrap();
        assert_eq!(m.name(), Some("Acme, Inc."));
        assert_eq!(m.display(), "Acme, Inc. <hello@acme.example>");
        let m = Mailbox::parse("hello@acme.example").unwrap();
        assert_eq!(
            (m.name(), m.display().as_str()),
            (None, "hello@acme.example")
        );
        assert!(Mailbox::parse("Acme").is_err());
        assert!(Mailbox::parse("Acme <>").is_err());
    }

    #[test]
    fn message_refuses_bad_subject_and_empty_parts() {
        let a = Mailbox::new(None, "a@example.com").unwrap();
        let ok = |s: &str, t: &str, h: &str| Message::new(a.clone(), a.clone(), s, t, h).is_ok();
        assert!(ok("Hi", "text", "<p>html</p>"));
        assert!(!ok("Hi\r\nBcc: x@y.example", "text", "<p>html</p>"));
        assert!(!ok(" ", "text", "<p>html</p>"));
        assert!(!ok("Hi", "", "<p>html</p>"));
        assert!(!ok("Hi", "text", " "));
    }
}
