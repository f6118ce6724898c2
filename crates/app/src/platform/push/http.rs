//! The providers' HTTP clients, and reading their answers without trusting their size.

use std::time::Duration;

use anyhow::Context as _;

use crate::platform::config::PushConfig;

/// Error bodies worth reading are a few hundred bytes; a Web Push endpoint is chosen by a
/// client, so its answer is read no further than this.
pub(crate) const MAX_ERROR_BODY: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Transport {
    /// Any HTTP version the server offers; `http://` allowed (FCM's overridable URLs).
    Any,
    /// `https://` only (Web Push endpoints come from clients).
    HttpsOnly,
    /// `https://` and HTTP/2 only, as APNs requires.
    Http2Only,
}

pub(crate) fn client(config: &PushConfig, transport: Transport) -> anyhow::Result<reqwest::Client> {
    crate::platform::tls::install_default_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(5)))
        // A redirect would let a Web Push endpoint send the server anywhere; no provider
        // redirects a send.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("aios-server/", env!("CARGO_PKG_VERSION")))
        .https_only(!matches!(transport, Transport::Any));
    if matches!(transport, Transport::Http2Only) {
        builder = builder.http2_prior_knowledge();
    }
    if let Some(pem) = &config.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).context("PUSH_CA_FILE")?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().context("building a push HTTP client")
}

/// The body, or its first `limit` bytes; a body that breaks off is read as far as it came.
pub(crate) async fn read_capped(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

/// A short, printable excerpt of an error body for the log and `last_error`.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.is_empty() {
        text.push_str("(no body)");
    }
    text
}
