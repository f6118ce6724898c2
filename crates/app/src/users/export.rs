//! `GET /api/users/me/export`: everything the user owns, as one JSON document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::UserDto;
use entity::{SessionId, UserId};

use super::UserError;
use crate::auth::dto::SessionDto;
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

pub async fn collect(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
) -> Result<Export, UserError> {
    let profile = super::service::get(app, user_id).await?;
    let sessions = crate::auth::service::sessions::list(app, user_id, session_id)
        .await
        .map_err(|err| UserError::Internal(err.into()))?
        .items;
    let items = crate::items::service::export_all(&*app.db, user_id).await?;
    Ok(Export {
        exported_at: clock::now(),
        user: profile,
        sessions,
        items,
    })
}
