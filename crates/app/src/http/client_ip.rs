//! The client's IP address, honouring `TRUST_PROXY`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hops = AppState::from_ref(state).config.http.trust_proxy_hops;
        let socket = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(resolve(socket, forwarded_for(parts), hops)))
    }
}

fn forwarded_for(parts: &Parts) -> Vec<String> {
    parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .collect()
}

/// With `hops` trusted proxies, the client is the entry the outermost trusted proxy appended:
/// counting from the right, so a client cannot choose its own address by sending the header.
fn resolve(socket: Option<IpAddr>, forwarded: Vec<String>, hops: usize) -> Option<IpAddr> {
    if hops == 0 || forwarded.is_empty() {
        return socket;
    }
    let index = forwarded.len().saturating_sub(hops);
    forwarded
        .get(index)
        .and_then(|s| s.parse::<IpAddr>().ok())
        .or(socket)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn trusts_only_the_configured_number_of_hops() {
        let socket = "10.0.0.1".parse().ok();
        let xff = |s: &str| {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(resolve(socket, xff("1.1.1.1, 2.2.2.2"), 0), socket);
        assert_eq!(
            resolve(socket, xff("6.6.6.6, 2.2.2.2"), 1),
            "2.2.2.2".parse().ok()
        );
        assert_eq!(
            resolve(socket, xff("6.6.6.6, 2.2.2.2, 3.3.3.3"), 2),
            "2.2.2.2".parse().ok()
        );
        assert_eq!(resolve(socket, xff("2.2.2.2"), 3), "2.2.2.2".parse().ok());
        assert_eq!(resolve(socket, xff("garbage"), 1), socket);
    }
}
