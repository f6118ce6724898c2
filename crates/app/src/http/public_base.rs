//! Where clients reach this server, for the absolute links it hands out (signed file links):
//! `PUBLIC_URL` when set, otherwise the request's own `Host` (with `https` when a trusted proxy
//! says the client used it). A link only ever goes back to the client that asked, so a forged
//! `Host` can only mislead its own sender.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBase(pub String);

fn sane_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// `PUBLIC_URL`, or the scheme and `Host` the request came with.
pub fn resolve(app: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &app.config.files.public_url {
        return url.clone();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let https = app.config.http.trust_proxy_hops > 0
        && header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    match header(header::HOST.as_str()).filter(|h| sane_host(h)) {
        Some(host) => format!("{scheme}://{host}"),
        None => format!("http://localhost:{}", app.config.port),
    }
}

impl FromRequestParts<AppState> for PublicBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(resolve(app, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::sane_host;

    #[test]
    fn only_plain_hosts_make_links() {
        assert!(sane_host("api.example.com"));
        assert!(sane_host("127.0.0.1:3000"));
        assert!(sane_host("[::1]:8080"));
        assert!(!sane_host("evil.com/path"));
        assert!(!sane_host("a b"));
        assert!(!sane_host(""));
    }
}
