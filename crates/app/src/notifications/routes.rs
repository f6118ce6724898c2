//! HTTP handlers of the notifications API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use entity::NotificationId;

use super::dto::{ListNotificationsQuery, NotificationDto, NotificationPage, SendNotification};
use super::service;
use crate::auth::{AdminUser, AuthUser};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedJson, ValidatedQuery};
use crate::state::AppState;

#[utoipa::path(summary = "List your notifications",
    description = "Your inbox, newest first, as a page (`limit`, and `offset` or `cursor`), with \
`unread`: how many of your notifications are unread. `unread=true` lists the unread ones only.",
    get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListNotificationsQuery),
    responses(
        (status = 200, description = "A page of your inbox", body = NotificationPage),
        (status = 400, description = "`limit`, `offset` or `cursor` out of range, both `offset` and `cursor`, or a `cursor` this server did not issue for this listing (`details` names `cursor`)", body = ErrorBody),
    ))]
pub async fn list_notifications(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedQuery(query): ValidatedQuery<ListNotificationsQuery>,
) -> ApiResult<Json<NotificationPage>> {
    Ok(Json(service::list(&app, user.user_id, query).await?))
}

#[utoipa::path(summary = "Send a notification (administrators)",
    description = "Stored in the user's inbox at once, and pushed to each of the user's devices by \
background jobs (one per device, retried on its own while its provider fails). Needs the `admin` \
role.",
    post, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    request_body = SendNotification,
    responses(
        (status = 202, description = "Stored; delivery to the devices is under way", body = NotificationDto),
        (status = 400, description = "Invalid input, or title, body and data over 3000 bytes together", body = ErrorBody),
        (status = 403, description = "Not an administrator (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No user has this id", body = ErrorBody),
    ))]
pub async fn send_notification(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ValidatedJson(request): ValidatedJson<SendNotification>,
) -> ApiResult<(StatusCode, Json<NotificationDto>)> {
    let sent = service::send(&app, admin.user_id, request).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

#[utoipa::path(summary = "Mark a notification read",
    description = "Sets its `readAt`; marking it again changes nothing.",
    post, path = "/api/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Read (marking it again changes nothing)"),
        (status = 404, description = "No such notification, or not yours", body = ErrorBody),
    ))]
pub async fn read_notification(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<NotificationId>,
) -> ApiResult<StatusCode> {
    service::mark_read(&app, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Mark every notification read",
    description = "Marks all of your unread notifications read; the inbox's `unread` becomes 0.",
    post, path = "/api/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every notification of yours is read"),
    ))]
pub async fn read_all_notifications(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<StatusCode> {
    service::mark_all_read(&app, user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
