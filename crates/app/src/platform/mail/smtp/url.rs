//! `SMTP_URL`, with a secure default.
//!
//! | URL                                   | transport                                    |
//! |---------------------------------------|----------------------------------------------|
//! | `smtp://host[:587]`                   | STARTTLS **required** (the default)          |
//! | `smtp://host?tls=required`            | the same, spelled out                        |
//! | `smtps://host[:465]`                  | implicit TLS (RFC 8314)                      |
//! | `smtp://host?tls=opportunistic`       | STARTTLS when offered, else plaintext        |
//! | `smtp://localhost:1025?tls=none`      | plaintext, **loopback hosts only**           |
//!
//! Credentials (`user:pass@`, percent-encoded) on a non-loopback host need certain TLS
//! (`required` or `smtps`): with `opportunistic` an active attacker can strip STARTTLS from the
//! EHLO reply and read the password. Unknown query keys are errors, so a typo such as
//! `?tls=require` stops the start-up instead of silently downgrading.
//!
//! This differs on purpose from lettre's own `from_url`, where a bare `smtp://` is plaintext.

use std::fmt;

use percent_encoding::percent_decode_str;
use secrecy::SecretString;
use url::Url;

use crate::platform::mail::SetupError;
use crate::platform::mail::net::is_loopback;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
    /// Plain connect, then STARTTLS; the send fails if the server does not offer it.
    StartTlsRequired,
    /// STARTTLS when offered, otherwise plaintext. No credentials off loopback.
    StartTlsOpportunistic,
    /// Never encrypt. Loopback only.
    None,
}

/// A parsed, policy-checked `SMTP_URL`. `Debug` never prints the password.
#[derive(Clone)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<(String, SecretString)>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

fn decode(part: &str) -> Result<String, SetupError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SetupError::new("the credentials are not valid percent-encoded UTF-8"))
}

impl SmtpUrl {
    pub fn parse(input: &str) -> Result<Self, SetupError> {
        // The url crate's error text never echoes the input, so no password leaks through it.
        let url = Url::parse(input).map_err(|e| SetupError::new(e.to_string()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| SetupError::new("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();

        let mut tls_param = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls_param.is_none() => tls_param = Some(value.into_owned()),
                "tls" => return Err(SetupError::new("`tls` given twice")),
                other => return Err(SetupError::new(format!("unknown query key `{other}`"))),
            }
        }

        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None) => (TlsMode::Implicit, 465),
            ("smtps", Some(_)) => return Err(SetupError::new("smtps:// takes no `tls` key")),
            ("smtp", None | Some("required")) => (TlsMode::StartTlsRequired, 587),
            ("smtp", Some("opportunistic")) => (TlsMode::StartTlsOpportunistic, 587),
            ("smtp", Some("none")) => (TlsMode::None, 25),
            ("smtp", Some(other)) => {
                return Err(SetupError::new(format!(
                    "tls={other}: expected required, opportunistic or none"
                )));
            }
            (scheme, _) => {
                return Err(SetupError::new(format!(
                    "unknown scheme `{scheme}`: expected smtp:// or smtps://"
                )));
            }
        };

        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) => Some((decode(user)?, SecretString::from(decode(pass)?))),
            (_, None) => return Err(SetupError::new("a user is given without a password")),
        };

        let local = is_loopback(&url);
        if tls == TlsMode::None && !local {
            return Err(SetupError::new(
                "tls=none is only allowed for loopback hosts",
            ));
        }
        if tls == TlsMode::StartTlsOpportunistic && credentials.is_some() && !local {
            return Err(SetupError::new(
                "credentials need tls=required or smtps:// on a non-loopback host",
            ));
        }

        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            tls,
            credentials,
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn ok(s: &str) -> SmtpUrl {
        SmtpUrl::parse(s).unwrap()
    }
    fn err(s: &str) -> String {
        SmtpUrl::parse(s).unwrap_err().to_string()
    }
    fn credentials(u: &SmtpUrl) -> Option<(String, String)> {
        u.credentials
            .as_ref()
            .map(|(user, pass)| (user.clone(), pass.expose_secret().to_owned()))
    }

    #[test]
    fn bare_smtp_means_starttls_required_on_587() {
        let u = ok("smtp://user:pass@mail.example.com");
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("mail.example.com", 587, TlsMode::StartTlsRequired)
        );
        assert_eq!(credentials(&u), Some(("user".into(), "pass".into())));
        assert_eq!(ok("smtp://mail.example.com:2525?tls=required").port, 2525);
    }

    #[test]
    fn smtps_is_implicit_tls_on_465() {
        let u = ok("smtps://u:p@mail.example.com");
        assert_eq!((u.port, u.tls), (465, TlsMode::Implicit));
        assert!(err("smtps://mail.example.com?tls=none").contains("takes no `tls`"));
    }

    #[test]
    fn plaintext_only_on_loopback() {
        assert_eq!(ok("smtp://127.0.0.1:1025?tls=none").tls, TlsMode::None);
        assert_eq!(ok("smtp://u:p@localhost:1025?tls=none").tls, TlsMode::None);
        assert_eq!(ok("smtp://[::1]:1025?tls=none").host, "::1");
        assert!(err("smtp://mail.example.com?tls=none").contains("loopback"));
        assert!(err("smtp://localhost.example.com?tls=none").contains("loopback"));
        assert!(err("smtp://10.0.0.1?tls=none").contains("loopback"));
    }

    #[test]
    fn opportunistic_refuses_credentials_off_loopback() {
        assert_eq!(
            ok("smtp://relay.internal?tls=opportunistic").tls,
            TlsMode::StartTlsOpportunistic
        );
        assert!(err("smtp://u:p@relay.internal?tls=opportunistic").contains("credentials"));
        assert!(SmtpUrl::parse("smtp://u:p@127.0.0.1?tls=opportunistic").is_ok());
    }

    #[test]
    fn typos_and_unknowns_are_errors() {
        assert!(err("smtp://h?tls=require").contains("expected required"));
        assert!(err("smtp://h?pool=5").contains("unknown query key"));
        assert!(err("smtp://h?tls=none&tls=none").contains("twice"));
        assert!(err("http://h").contains("unknown scheme"));
        assert!(err("smtp://user@h").contains("without a password"));
        assert!(SmtpUrl::parse("not a url").is_err());
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_printed() {
        let u = ok("smtp://apikey:p%40ss%3Aw%2Fd@mail.example.com");
        assert_eq!(credentials(&u), Some(("apikey".into(), "p@ss:w/d".into())));
        let debug = format!("{u:?}");
        assert!(
            debug.contains("apikey") && !debug.contains("p@ss"),
            "{debug}"
        );
        // Errors found after parsing must not contain the password either.
        let e = err("smtp://u:s3cret@mail.example.com?tls=none");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
