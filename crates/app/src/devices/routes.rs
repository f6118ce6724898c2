//! HTTP handlers of the devices API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use entity::DeviceId;

use super::dto::{DeviceDto, DeviceList, RegisterDevice, VapidPublicKey};
use super::service;
use crate::auth::AuthUser;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedJson};
use crate::state::AppState;

#[utoipa::path(summary = "Register a push device",
    description = "Binds the device to the calling session: it is unregistered when that session ends \
(logout, logout-all, revocation, refresh-token reuse, a password change or reset, account \
deletion). Registering the same token again (for `web`, the same endpoint) updates the device, \
binds it to this session and answers with the same id; a token another account registered moves \
to this one as a new device. Tokens are never sent back. An account keeps at most 50 devices: \
registering more drops the least recently registered.",
    post, path = "/api/devices", tag = "devices", security(("bearer" = [])),
    request_body(content = RegisterDevice, examples(
        ("android" = (value = json!({"platform": "android", "token": "fcm-device-1:APA91bH-example_token"}))),
        ("ios" = (value = json!({"platform": "ios", "token": "5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f"}))),
        ("web" = (value = json!({"platform": "web", "token": {"endpoint": "https://fcm.googleapis.com/fcm/send/abc:def", "expirationTime": null, "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}}}))),
    )),
    responses(
        (status = 201, description = "Registered (or registered again)", body = DeviceDto),
        (status = 400, description = "Unknown `platform`, or a `token` its provider would refuse (`details` names `token`, `token.endpoint`, `token.keys.p256dh` or `token.keys.auth`)", body = ErrorBody),
    ))]
pub async fn register_device(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedJson(request): ValidatedJson<RegisterDevice>,
) -> ApiResult<(StatusCode, Json<DeviceDto>)> {
    let device = service::register(&app, user.user_id, user.session_id, request).await?;
    Ok((StatusCode::CREATED, Json(device)))
}

#[utoipa::path(summary = "List your push devices",
    description = "Your registered devices, oldest first, with `current` set on those the calling \
session registered. Tokens are not included.",
    get, path = "/api/devices", tag = "devices", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your devices, oldest first; tokens are not included", body = DeviceList),
    ))]
pub async fn list_devices(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DeviceList>> {
    Ok(Json(
        service::list(&app, user.user_id, user.session_id).await?,
    ))
}

#[utoipa::path(summary = "Unregister a push device",
    description = "Removes one of your devices: nothing more is pushed to it. Logging out does the \
same for the devices that session registered.",
    delete, path = "/api/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Unregistered: nothing more is pushed to it"),
        (status = 404, description = "No such device, or not yours", body = ErrorBody),
    ))]
pub async fn delete_device(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<DeviceId>,
) -> ApiResult<StatusCode> {
    service::delete(&app, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Get the VAPID public key",
    description = "The application server key a web client subscribes with \
(`registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey})`); then it \
registers the subscription with `POST /api/devices`. Needs no token.",
    get, path = "/api/push/vapid-public-key", tag = "devices",
    responses(
        (status = 200, description = "The key", body = VapidPublicKey),
        (status = 404, description = "Web Push is not configured on this server", body = ErrorBody),
    ))]
pub async fn get_vapid_public_key(State(app): State<AppState>) -> ApiResult<Json<VapidPublicKey>> {
    Ok(Json(service::vapid_public_key(&app)?))
}
