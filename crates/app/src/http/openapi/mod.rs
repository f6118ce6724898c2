//! The OpenAPI 3.1 document, generated from the handlers' own types, and the interactive
//! reference at `/docs` (Scalar, served from the assets bundled in the `scalar_api_reference`
//! crate: no CDN, nothing downloaded at build time).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub mod components;
pub mod contract;
mod schemas;

use super::error::ErrorBody;
use crate::platform::error::{ErrorCode, FieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aios-server",
        description = "The backend REST API for mobile apps: auth and sessions, users, per-user \
                       data with offline sync, files. Errors always have the `ErrorBody` shape.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(ErrorBody, ErrorCode, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, metrics and this document"),
        (name = "auth", description = "Registration, login, tokens and sessions"),
        (name = "users", description = "Your profile, and user administration"),
        (name = "data", description = "Your items: CRUD, batch and delta sync"),
        (name = "admin", description = "Administrators: the background jobs"),
        (name = "files", description = "Your files: streamed uploads, downloads with ranges, signed links"),
        (name = "devices", description = "Your push devices (APNs, FCM, Web Push) and the VAPID key"),
        (name = "notifications", description = "Your in-app inbox; administrators send notifications"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <title>aios-server API reference</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="/docs/favicon.svg" type="image/svg+xml" />
  </head>
  <body>
    <div id="app"></div>
    <script src="/docs/scalar.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
"#;

/// Kept out of the HTML so the page runs under a CSP without `'unsafe-inline'` scripts.
/// Configured for a self-hosted API: no hosted-product chrome (developer tools bar with its
/// "Deploy" advert, "Ask AI" agent, MCP and SDK buttons), no telemetry, no fonts from a CDN,
/// the sidebar by operation summary. Requests only ever go to this origin.
const DOCS_INIT_JS: &str = r#"Scalar.createApiReference('#app', {
  url: '/api/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  telemetry: false,
  operationTitleSource: 'summary',
  defaultOpenAllTags: true,
  documentDownloadType: 'json',
  favicon: '/docs/favicon.svg'
});
"#;

const FAVICON_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f6feb"/><path d="M9 23l7-14 7 14M12 18h8" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>
"##;

pub async fn docs_favicon() -> Response {
    let mut response = FAVICON_SVG.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

pub async fn docs_page() -> Html<&'static str> {
    Html(DOCS_HTML)
}

pub async fn docs_init_js() -> Response {
    javascript(DOCS_INIT_JS.as_bytes().to_vec())
}

pub async fn docs_bundle_js() -> Response {
    match scalar_api_reference::get_asset("scalar.js") {
        Some(bytes) => javascript(bytes),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn javascript(bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
