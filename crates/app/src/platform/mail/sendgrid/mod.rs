//! The SendGrid transport: the v3 `mail/send` HTTP API on reqwest (rustls with ring).

mod body;
mod classify;

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Client, redirect};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::net::is_loopback;
use super::{MailError, Mailer, Message, SetupError};

pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// Settings of [`SendGridMailer`]. `Debug` redacts the key.
#[derive(Clone)]
pub struct SendGridConfig {
    pub api_key: SecretString,
    /// `https://api.sendgrid.com` (or the EU host); tests point it at a local server.
    pub base_url: String,
    pub connect_timeout: Duration,
    /// The whole request, reading the response included.
    pub request_timeout: Duration,
}

impl fmt::Debug for SendGridConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGridConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// `{base}/v3/mail/send`. `http://` is accepted for loopback hosts only (a local test server).
pub fn endpoint(base_url: &str) -> Result<Url, SetupError> {
    let mut base = Url::parse(base_url).map_err(|e| SetupError::new(e.to_string()))?;
    match base.scheme() {
        "https" => {}
        "http" if is_loopback(&base) => {}
        _ => {
            return Err(SetupError::new(
                "must be https:// (http:// only for loopback)",
            ));
        }
    }
    // join() would drop a last path segment without a trailing slash: normalise first.
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join("v3/mail/send")
        .map_err(|e| SetupError::new(e.to_string()))
}

/// A key must fit in a header: checking it at start-up turns a send-time error into a
/// configuration one.
pub fn check_api_key(key: &str) -> Result<(), SetupError> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SetupError::new("must be printable ASCII without spaces"));
    }
    Ok(())
}

/// A [`Mailer`] posting to SendGrid's `/v3/mail/send`.
#[derive(Clone)]
pub struct SendGridMailer {
    client: Client,
    endpoint: Url,
    authorization: HeaderValue,
}

impl fmt::Debug for SendGridMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGridMailer")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl SendGridMailer {
    pub fn new(config: &SendGridConfig) -> Result<Self, SetupError> {
        let key = config.api_key.expose_secret().trim();
        check_api_key(key)?;
        let endpoint = endpoint(&config.base_url)?;
        crate::platform::tls::install_default_provider();
        let client = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Never replay the bearer key to wherever a redirect points.
            .redirect(redirect::Policy::none())
            .https_only(!is_loopback(&endpoint))
            .user_agent(concat!("aios-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError::new(format!("the HTTP client cannot be built: {e}")))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| SetupError::new("SENDGRID_API_KEY is not a valid header value"))?;
        // Sensitive values are redacted from hyper's debug output and never HPACK-indexed.
        authorization.set_sensitive(true);
        Ok(Self {
            client,
            endpoint,
            authorization,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SendGridMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let response = self
            .client
            .post(self.endpoint.clone())
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .json(&body::SendRequest::new(message))
            .send()
            .await
            // Connect failures, timeouts and resets: the provider, not the message. The URL
            // holds no secret; without it the errors stay short and alike.
            .map_err(|e| {
                MailError::transient(
                    format!("the SendGrid request failed: {}", e.without_url()),
                    None,
                    None,
                )
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        // A body that cannot be read after a status only loses detail: classify on the status.
        let text = if status.is_success() {
            String::new()
        } else {
            response.text().await.unwrap_or_default()
        };
        classify::classify(status, &headers, &text)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn endpoint_joins_the_base_with_or_without_a_slash() {
        let at = |base: &str| endpoint(base).map(String::from);
        assert_eq!(
            at("https://api.sendgrid.com").as_deref(),
            Ok("https://api.sendgrid.com/v3/mail/send")
        );
        assert_eq!(
            at("http://127.0.0.1:9/prefix").as_deref(),
            Ok("http://127.0.0.1:9/prefix/v3/mail/send")
        );
        assert_eq!(
            at("http://localhost:9/prefix/").as_deref(),
            Ok("http://localhost:9/prefix/v3/mail/send")
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(endpoint("http://api.sendgrid.com").is_err());
        assert!(endpoint("ftp://127.0.0.1").is_err());
        assert!(endpoint("not a url").is_err());
    }

    #[test]
    fn the_key_is_checked_and_never_printed() {
        assert!(check_api_key("").is_err());
        assert!(check_api_key("SG.a\r\nX-Evil: 1").is_err());
        assert!(check_api_key("SG.a b").is_err());
        let config = SendGridConfig {
            api_key: SecretString::from("SG.secret"),
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        };
        assert!(!format!("{config:?}").contains("SG.secret"));
        let mailer = SendGridMailer::new(&config).unwrap();
        assert!(!format!("{mailer:?}").contains("SG.secret"));
    }
}
