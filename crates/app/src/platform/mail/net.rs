//! Network policy shared by the transports.

use url::{Host, Url};

/// True for hosts that can only be this machine: `localhost`, 127.0.0.0/8 and `::1`. Plaintext
/// SMTP, and `http://` for the SendGrid base URL, are allowed only there: a local test or
/// development server cannot be sniffed from the network.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        // For schemes the url crate does not know, such as smtp://, an IPv4 literal arrives as
        // an opaque domain: try it as an address too.
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        let is = |s: &str| is_loopback(&Url::parse(s).unwrap());
        assert!(is("smtp://localhost:25"));
        assert!(is("smtp://LOCALHOST"));
        assert!(is("smtp://127.0.0.1"));
        assert!(is("smtp://127.8.9.10"));
        assert!(is("http://[::1]:8080"));
        assert!(!is("smtp://mail.example.com"));
        assert!(!is("smtp://localhost.example.com"));
        assert!(!is("smtp://10.0.0.1"));
    }
}
