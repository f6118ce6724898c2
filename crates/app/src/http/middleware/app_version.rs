//! `MIN_APP_VERSION`: clients older than this get `426 UPGRADE_REQUIRED`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::platform::error::ErrorCode;
use crate::platform::version::parse_lenient;

pub const X_APP_VERSION: &str = "x-app-version";

pub async fn require_min_app_version(
    State(min): State<Option<semver::Version>>,
    request: Request,
    next: Next,
) -> Response {
    // Only the API is versioned; probes and docs answer any client.
    if let Some(min) = &min
        && request.uri().path().starts_with("/api/")
        && let Some(value) = request.headers().get(X_APP_VERSION)
    {
        let Some(version) = value.to_str().ok().and_then(parse_lenient) else {
            return ApiError::field("X-App-Version", "must be a semantic version like 1.4.2")
                .into_response();
        };
        if version < *min {
            return ApiError::new(
                ErrorCode::UpgradeRequired,
                format!("This app version is no longer supported; update to {min} or later"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use crate::platform::version::parse_lenient;

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
