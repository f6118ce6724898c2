//! `GET /dev/mail`: the last messages the development transport kept, links included, so a
//! developer can follow a verification or reset link without a mail server. The route exists
//! only in development with `MAIL_TRANSPORT=log` (the default there): everywhere else it is a
//! plain 404, because the messages hold live single-use tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::middleware::request_context;
use crate::platform::mail::SentEmail;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct DevMailList {
    /// Newest first, at most 50.
    pub items: Vec<DevMail>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevMail {
    pub sent_at: DateTime<Utc>,
    /// `Name <address>`, from `MAIL_FROM`.
    pub from: String,
    pub to: String,
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
    /// The links of the text part, e.g. `{APP_URL}/verify-email?token=...`.
    pub links: Vec<String>,
}

impl From<SentEmail> for DevMail {
    fn from(email: SentEmail) -> Self {
        Self {
            links: email.links(),
            sent_at: email.sent_at,
            from: email.from,
            to: email.to,
            subject: email.subject,
            text: email.text,
            html: email.html,
        }
    }
}

/// Adds `GET /dev/mail` when the development transport keeps messages.
pub fn add_route(router: OpenApiRouter<AppState>, app: &AppState) -> OpenApiRouter<AppState> {
    if app.mail.recent().is_some() {
        router.routes(routes!(list_dev_mail))
    } else {
        router
    }
}

#[utoipa::path(get, path = "/dev/mail", tag = "operations", summary = "Development mail log",
    description = "Development only (`APP_ENV=development` with `MAIL_TRANSPORT=log`): the \
                   last messages the log transport would have sent. The route does not exist \
                   otherwise.",
    responses((status = 200, description = "Newest first", body = DevMailList)))]
pub async fn list_dev_mail(State(app): State<AppState>) -> Response {
    let Some(recent) = app.mail.recent() else {
        return request_context::not_found_fallback().await.into_response();
    };
    let items = recent
        .newest_first()
        .into_iter()
        .map(DevMail::from)
        .collect();
    let mut response = Json(DevMailList { items }).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
