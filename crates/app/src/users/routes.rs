//! HTTP handlers of the Users API.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::UserId;

use super::dto::{DeleteMeRequest, ListUsersQuery, UpdateMeRequest, UserDto};
use super::export::Export;
use super::service;
use crate::auth::{AdminUser, AuthUser};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedJson, ValidatedQuery};
use crate::http::public_base::PublicBase;
use crate::platform::pagination::Page;
use crate::state::AppState;

#[utoipa::path(summary = "Get your profile", description = "The user the access token belongs to.",
    get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)))]
pub async fn get_me(State(app): State<AppState>, user: AuthUser) -> ApiResult<Json<UserDto>> {
    Ok(Json(service::get(&app, user.user_id).await?))
}

/// Update your profile
///
/// Changes `name` and/or `email`; absent fields stay as they are. Changing `email` requires
/// `currentPassword` (missing: `400`; wrong: `401 INVALID_CREDENTIALS`, counted against the
/// account's budget of password checks, `RATE_LIMIT_AUTH_PER_MIN`), resets `emailVerified`,
/// mails a verification link to the new address and a notice to the old one, ends every other
/// session of the account, and invalidates reset and verification links mailed before.
#[utoipa::path(put, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    request_body(content = UpdateMeRequest, example = json!({"name": "Ada Lovelace"})),
    responses((status = 200, body = UserDto),
        (status = 400, description = "Invalid input, or `currentPassword` missing for an email change", body = ErrorBody),
        (status = 401, description = "`UNAUTHORIZED`, or `INVALID_CREDENTIALS`: wrong `currentPassword`", body = ErrorBody),
        (status = 409, description = "`EMAIL_TAKEN`", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED`: too many password checks for this account, or too many links mailed to the new address", body = ErrorBody)))]
pub async fn update_me(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedJson(request): ValidatedJson<UpdateMeRequest>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(
        service::update_me(&app, user.user_id, user.session_id, request).await?,
    ))
}

#[utoipa::path(summary = "Delete your account", description = "Needs your password. Deletes the account and everything it owns: items, files, devices, sessions.",
    delete, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    request_body(content = DeleteMeRequest, example = json!({"password": "Quince-Lantern-Meadow-37"})),
    responses((status = 204, description = "The account and everything it owns are deleted"),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong password", body = ErrorBody)))]
pub async fn delete_me(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedJson(request): ValidatedJson<DeleteMeRequest>,
) -> ApiResult<StatusCode> {
    service::delete_me(&app, user.user_id, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Export your data", description = "Everything you own (profile, items, file metadata with signed links, sessions) as one JSON download (`Content-Disposition: attachment`).",
    get, path = "/api/users/me/export", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "A download (`Content-Disposition: attachment`)", body = Export,
        headers(("Content-Disposition" = String))),
        (status = 401, body = ErrorBody)))]
pub async fn export_me(
    State(app): State<AppState>,
    user: AuthUser,
    PublicBase(base): PublicBase,
) -> ApiResult<Response> {
    let export = service::export(&app, user.user_id, user.session_id, &base).await?;
    let mut response = Json(export).into_response();
    let disposition = format!("attachment; filename=\"aios-export-{}.json\"", user.user_id);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(summary = "Get a user", description = "Administrators only: any user by id.",
    get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ValidPath(id): ValidPath<UserId>,
) -> ApiResult<Json<UserDto>> {
    crate::audit!("admin.get_user", admin_id = %admin.user_id, user_id = %id);
    Ok(Json(service::get(&app, id).await?))
}

#[utoipa::path(summary = "List users", description = "Administrators only: a page of users, filtered by `q` (a substring of the email or name).",
    get, path = "/api/users", tag = "users", security(("bearer" = [])),
    params(ListUsersQuery),
    responses((status = 200, body = Page<UserDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an administrator", body = ErrorBody)))]
pub async fn list_users(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ValidatedQuery(query): ValidatedQuery<ListUsersQuery>,
) -> ApiResult<Json<Page<UserDto>>> {
    crate::audit!("admin.list_users", admin_id = %admin.user_id);
    Ok(Json(service::list(&app, query).await?))
}
