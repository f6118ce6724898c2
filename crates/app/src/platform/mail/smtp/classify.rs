//! lettre errors as [`MailError`]s.
//!
//! A 5xx reply is permanent: the server judged this message (a rejected recipient, a message it
//! will not take). Everything else is transient: 4xx replies, connection refused, DNS, the TLS
//! handshake, timeouts, unparsable replies, "STARTTLS not offered". Those describe the provider
//! or our setup, not the message; they trip the circuit breaker, which makes them visible.
//!
//! Refused credentials are transient too, although they are 5xx replies (530, 534, 535, 538).
//! They are our configuration, never the message: as permanent failures, every message sent
//! between a credential rotation and the fix would be given up. As transient ones they open the
//! breaker, `/health` reports the provider down, and the messages wait for the new credentials.

use lettre::transport::smtp::Error as SmtpError;

use crate::platform::mail::MailError;

/// Authentication required, mechanism too weak, credentials invalid, encryption required
/// for the mechanism (RFC 4954).
const CREDENTIAL_REPLIES: [u16; 4] = [530, 534, 535, 538];

pub(super) fn classify(e: &SmtpError) -> MailError {
    let code = e.status().map(u16::from);
    let reason = e.to_string();
    if code.is_some_and(|c| CREDENTIAL_REPLIES.contains(&c)) {
        return MailError::transient(
            format!("the SMTP server refused our credentials (check SMTP_URL): {reason}"),
            code,
            None,
        );
    }
    if e.is_permanent() {
        MailError::permanent(reason, code)
    } else {
        // SMTP has no Retry-After: the job runner's backoff decides.
        MailError::transient(reason, code, None)
    }
}
