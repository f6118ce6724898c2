//! `GET /api/users/me/export`: everything the user owns, as one JSON document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::UserDto;
use crate::auth::AuthUser;
use crate::auth::dto::SessionDto;
use crate::http::error::ApiError;
use crate::items::dto::ItemDto;
use crate::platform::clock;
use crate::state::AppState;

/// The export document. Files, devices and notifications join it as those features land.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub user: UserDto,
    pub sessions: Vec<SessionDto>,
    pub items: Vec<ItemDto>,
}

pub async fn collect(app: &AppState, user: AuthUser) -> Result<Export, ApiError> {
    let profile = super::service::get(app, user.user_id).await?;
    let sessions = crate::auth::service::sessions::list(app, user).await?.items;
    let items = crate::items::service::export_all(&*app.db, user.user_id).await?;
    Ok(Export {
        exported_at: clock::now(),
        user: profile,
        sessions,
        items,
    })
}
