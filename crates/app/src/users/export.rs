//! `GET /api/users/me/export`: everything the user owns, as one JSON document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::UserDto;
use entity::{SessionId, UserId};

use super::UserError;
use crate::auth::dto::SessionDto;
use crate::devices::dto::DeviceDto;
use crate::files::dto::ExportedFile;
use crate::items::dto::ItemDto;
use crate::notifications::dto::NotificationDto;
use crate::platform::clock;
use crate::state::AppState;

/// The export document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub user: UserDto,
    pub sessions: Vec<SessionDto>,
    pub items: Vec<ItemDto>,
    /// Metadata of every file, each with a signed link to its bytes (valid `FILE_URL_TTL`).
    pub files: Vec<ExportedFile>,
    /// Push devices (their tokens left out).
    pub devices: Vec<DeviceDto>,
    /// The inbox, newest first.
    pub notifications: Vec<NotificationDto>,
}

pub async fn collect(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    base: &str,
) -> Result<Export, UserError> {
    let profile = super::service::get(app, user_id).await?;
    let sessions = crate::auth::service::sessions::list(app, user_id, session_id)
        .await
        .map_err(|err| UserError::Internal(err.into()))?
        .items;
    let items = crate::items::service::export_all(&*app.db, user_id).await?;
    let files = crate::files::service::export_all(app, user_id, base)
        .await
        .map_err(|err| UserError::Internal(err.into()))?;
    let devices = crate::devices::service::export_all(&*app.db, user_id, session_id)
        .await
        .map_err(|err| UserError::Internal(err.into()))?;
    let notifications = crate::notifications::service::export_all(&*app.db, user_id)
        .await
        .map_err(|err| UserError::Internal(err.into()))?;
    Ok(Export {
        exported_at: clock::now(),
        user: profile,
        sessions,
        items,
        files,
        devices,
        notifications,
    })
}
