//! Limits on the request head. hyper answers a head over its own limits itself, with an empty
//! body and none of our headers, before any application code runs. So hyper's limits are set a
//! little above these, and this middleware, inside the request-context and security-header
//! layers, refuses first with the contract's error body, `X-Request-Id` and the security headers.

use axum::extract::Request;
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::platform::error::ErrorCode;

/// Longest request target (path and query, or the absolute form): 414 above it.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields in a request: 431 above it.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of header fields (each counted as `name: value\r\n`): 431 above it.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// hyper's limits. Past them hyper answers 431 and closes the connection; below them the
/// request reaches [`limit_request_head`]. The read buffer bounds a whole head (request line
/// and headers) and so the memory a slow client can pin per connection; the default would be
/// about 400 KiB.
pub const HARD_MAX_HEADERS: usize = 128;
pub const HARD_MAX_HEAD_BYTES: usize = 64 * 1024;

pub async fn limit_request_head(request: Request, next: Next) -> Response {
    match refusal(&request) {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

/// The `414` or `431` of a request over these limits, if it is.
pub fn refusal(request: &Request) -> Option<ApiError> {
    check(request.uri(), request.headers())
}

fn check(uri: &Uri, headers: &HeaderMap) -> Option<ApiError> {
    let target = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        let message = format!("The request URI is over {MAX_URI_BYTES} bytes");
        return Some(ApiError::new(ErrorCode::UriTooLong, message));
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        let message = format!(
            "Request headers are limited to {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes"
        );
        return Some(ApiError::new(ErrorCode::HeadersTooLarge, message));
    }
    None
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    fn code(uri: &str, headers: &HeaderMap) -> Option<ErrorCode> {
        check(&uri.parse().unwrap(), headers).map(|e| e.code)
    }

    #[test]
    fn limits_are_inclusive_and_count_every_field() {
        let none = HeaderMap::new();
        let path = |len: usize| format!("/{}", "a".repeat(len - 1));
        assert_eq!(code(&path(MAX_URI_BYTES), &none), None);
        assert_eq!(
            code(&path(MAX_URI_BYTES + 1), &none),
            Some(ErrorCode::UriTooLong)
        );

        let mut many = HeaderMap::new();
        for i in 0..MAX_HEADERS {
            let name = HeaderName::try_from(format!("x-{i}")).unwrap();
            many.append(name, HeaderValue::from_static("1"));
        }
        assert_eq!(code("/", &many), None);
        many.append("x-0", HeaderValue::from_static("repeated fields count too"));
        assert_eq!(code("/", &many), Some(ErrorCode::HeadersTooLarge));

        let mut big = HeaderMap::new();
        let value = "v".repeat(MAX_HEADER_BYTES - "x-big: \r\n".len());
        big.insert("x-big", HeaderValue::from_str(&value).unwrap());
        assert_eq!(code("/", &big), None);
        big.append("x", HeaderValue::from_static(""));
        assert_eq!(code("/", &big), Some(ErrorCode::HeadersTooLarge));
    }
}
