//! The helmet set of response headers.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The API serves JSON only: nothing may be framed, scripted or loaded from it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// `/docs` runs the bundled Scalar reference from this origin only (its styles are injected).
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                        frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

#[derive(Clone, Copy)]
pub struct SecurityHeadersConfig {
    pub trust_proxy_hops: usize,
}

pub async fn security_headers(
    State(config): State<SecurityHeadersConfig>,
    request: Request,
    next: Next,
) -> Response {
    let is_docs = request.uri().path().starts_with("/docs");
    // HSTS only means something over TLS, which a trusted proxy in front terminates.
    let behind_tls = config.trust_proxy_hops > 0
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("x-dns-prefetch-control"),
        "off",
    );
    set(
        headers,
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        "none",
    );
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        if is_docs { DOCS_CSP } else { API_CSP },
    );
    if behind_tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    headers.remove(header::SERVER);
    headers.remove("x-powered-by");
    response
}
