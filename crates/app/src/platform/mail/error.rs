//! How a send failed, sorted the way a job runner needs it, and why a transport cannot be set up.

use std::time::Duration;

/// Why a message was not handed over to the provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message (SMTP 5xx, SendGrid 4xx other than 429, 401 and 403),
    /// or it cannot be encoded: retrying cannot help.
    #[error("permanent mail failure{}: {reason}", code_suffix(*.code))]
    Permanent {
        reason: String,
        /// SMTP reply code or HTTP status, when the provider answered.
        code: Option<u16>,
    },
    /// The provider is busy, unreachable, slow or refuses our credentials (SMTP 4xx and
    /// 530/534/535/538, connection failures, timeouts, HTTP 5xx, 429, 401, 403): retry later,
    /// after `retry_after` when the provider said when.
    #[error("transient mail failure{}: {reason}", code_suffix(*.code))]
    Transient {
        reason: String,
        code: Option<u16>,
        retry_after: Option<Duration>,
    },
}

fn code_suffix(code: Option<u16>) -> String {
    code.map(|c| format!(" ({c})")).unwrap_or_default()
}

impl MailError {
    pub fn permanent(reason: impl Into<String>, code: Option<u16>) -> Self {
        Self::Permanent {
            reason: reason.into(),
            code,
        }
    }

    pub fn transient(
        reason: impl Into<String>,
        code: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::Transient {
            reason: reason.into(),
            code,
            retry_after,
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The provider's own hint (`Retry-After`), if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Permanent { .. } => None,
            Self::Transient { retry_after, .. } => *retry_after,
        }
    }

    /// SMTP reply code or HTTP status, when the provider answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Permanent { code, .. } | Self::Transient { code, .. } => *code,
        }
    }
}

/// A transport setting that cannot work. The message never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl SetupError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_the_code_when_known() {
        let e = MailError::permanent("mailbox unavailable", Some(550));
        assert_eq!(
            e.to_string(),
            "permanent mail failure (550): mailbox unavailable"
        );
        let e = MailError::transient("connection refused", None, None);
        assert_eq!(e.to_string(), "transient mail failure: connection refused");
    }
}
