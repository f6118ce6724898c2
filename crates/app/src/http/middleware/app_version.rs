//! `MIN_APP_VERSION`: clients older than this get `426 UPGRADE_REQUIRED`.

use axum::http::HeaderMap;

use crate::http::error::ApiError;
use crate::platform::error::ErrorCode;
use crate::platform::version::parse_lenient;

pub const X_APP_VERSION: &str = "x-app-version";

/// The refusal of an `/api` request from a client older than `min` (or naming no version a
/// client could have), if it is one. Requests without `X-App-Version` pass. Called by
/// [`super::api_gate`]; only the API is versioned, so probes and docs answer any client.
pub fn refusal(min: Option<&semver::Version>, headers: &HeaderMap) -> Option<ApiError> {
    let min = min?;
    let value = headers.get(X_APP_VERSION)?;
    let Some(version) = value.to_str().ok().and_then(parse_lenient) else {
        return Some(ApiError::field(
            "X-App-Version",
            "must be a semantic version like 1.4.2",
        ));
    };
    (version < *min).then(|| {
        ApiError::new(
            ErrorCode::UpgradeRequired,
            format!("This app version is no longer supported; update to {min} or later"),
        )
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{X_APP_VERSION, refusal};
    use crate::platform::error::ErrorCode;
    use crate::platform::version::parse_lenient;

    #[test]
    fn only_a_named_version_below_the_minimum_or_a_malformed_one_is_refused() {
        let min = parse_lenient("1.4.0");
        let with = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(X_APP_VERSION, HeaderValue::from_static(v));
            headers
        };
        let code = |min: Option<&semver::Version>, headers: &HeaderMap| {
            refusal(min, headers).map(|e| e.code)
        };
        assert_eq!(code(min.as_ref(), &HeaderMap::new()), None);
        assert_eq!(code(min.as_ref(), &with("1.4")), None);
        assert_eq!(code(min.as_ref(), &with("2.0.0")), None);
        assert_eq!(
            code(min.as_ref(), &with("1.3.9")),
            Some(ErrorCode::UpgradeRequired)
        );
        assert_eq!(
            code(min.as_ref(), &with("new")),
            Some(ErrorCode::ValidationFailed)
        );
        assert_eq!(code(None, &with("0.0.1")), None);
    }

    #[test]
    fn accepts_loose_versions_and_compares_them_as_semver() {
        let v = |s| parse_lenient(s).map(|v| v.to_string());
        assert_eq!(v("2").as_deref(), Some("2.0.0"));
        assert_eq!(v("v1.4").as_deref(), Some("1.4.0"));
        assert_eq!(v("1.4.2-beta.1").as_deref(), Some("1.4.2-beta.1"));
        assert_eq!(v("1.2.3.4"), None);
        assert_eq!(v("abc"), None);
        assert_eq!(v(""), None);
        assert!(parse_lenient("1.10.0") > parse_lenient("1.9.9"));
        assert!(parse_lenient("2.0.0-rc.1") < parse_lenient("2.0.0"));
    }
}
