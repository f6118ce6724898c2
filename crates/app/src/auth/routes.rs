//! HTTP handlers of the Auth API.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::SessionId;

use super::dto::*;
use super::extract::AuthUser;
use super::service::{self, ClientInfo};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{OptionalJson, ValidPath, ValidatedJson};
use crate::http::idempotency::{self, IdempotencyKey};
use crate::platform::idempotency::request_hash;
use crate::state::AppState;

/// Token responses must never be cached by a client or proxy.
fn tokens(status: StatusCode, body: TokenResponse) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[utoipa::path(summary = "Register", description = "Creates an account and logs it in (a new session). A verification email is sent. Honours `Idempotency-Key`, scoped to the client's address. Rate limited per IP in the stricter auth tier.",
    post, path = "/api/auth/register", tag = "auth", request_body(content = RegisterRequest, example = json!({"email": "ada@example.com", "password": "Plum-Kettle-Harbour-91", "name": "Ada", "device": {"name": "Ada's iPhone", "platform": "ios", "appVersion": "1.4.2"}})),
    params(("Idempotency-Key" = Option<String>, Header, description = "1..255 characters; a retry with the same key and body from the same client address replays the first answer for 24 h. Stored responses count against a per-address cap (`IDEMPOTENCY_MAX_BYTES_PER_USER`, default 10 MiB): past it the oldest are dropped, and a retry with a dropped key runs again")),
    responses(
        (status = 201, description = "Account created and logged in", body = TokenResponse,
            headers(("Cache-Control" = String))),
        (status = 400, description = "`VALIDATION_FAILED`: invalid input, or a password the policy refuses: besides its length, one on the common-password list or the email address itself (`details` names `password`); no schema can list those", body = ErrorBody),
        (status = 409, description = "`EMAIL_TAKEN`", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<AppState>,
    client: ClientInfo,
    IdempotencyKey(key): IdempotencyKey,
    ValidatedJson(request): ValidatedJson<RegisterRequest>,
) -> ApiResult<Response> {
    // Anonymous: keys are scoped to the client's address.
    let scope = format!("ip:{}", client.ip.as_deref().unwrap_or("unknown"));
    let hash = request_hash(&app, "POST", "/api/auth/register", &request);
    let app = &app;
    idempotency::run_once(app, &scope, key, hash, true, move |claim| async move {
        let body = service::register::register(app, request, client, claim.as_ref()).await?;
        Ok(tokens(StatusCode::CREATED, body))
    })
    .await
}

#[utoipa::path(summary = "Log in", description = "Checks the email and password and opens a new session (named by the optional `device`). Wrong email and wrong password get the same `401 INVALID_CREDENTIALS`; repeated failures lock the account for a while (`429 ACCOUNT_LOCKED`). Rate limited per IP in the stricter auth tier.",
    post, path = "/api/auth/login", tag = "auth", request_body(content = LoginRequest, example = json!({"email": "ada@example.com", "password": "Plum-Kettle-Harbour-91", "device": {"name": "Ada's iPhone", "platform": "ios", "appVersion": "1.4.2"}})),
    responses(
        (status = 200, description = "Logged in: a new session", body = TokenResponse,
            headers(("Cache-Control" = String))),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = ErrorBody),
        (status = 429, description = "`ACCOUNT_LOCKED` after repeated failures; see `Retry-After`", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<AppState>,
    client: ClientInfo,
    ValidatedJson(request): ValidatedJson<LoginRequest>,
) -> ApiResult<Response> {
    let body = service::login::login(&app, request, client).await?;
    Ok(tokens(StatusCode::OK, body))
}

#[utoipa::path(summary = "Refresh the tokens", description = "Rotates the refresh token: the presented one is spent and a new pair is returned. Presenting a spent token again outside the grace window (`REFRESH_REUSE_GRACE_SECS`) is `401 TOKEN_REUSED` and revokes the session.",
    post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent. Presented again within `REFRESH_REUSE_GRACE_SECS` (a retry, or a concurrent refresh), it gets the same pair again, with `expiresIn` counting what the access token has left", body = TokenResponse,
            headers(("Cache-Control" = String))),
        (status = 401, description = "`UNAUTHORIZED` (unknown, expired or revoked) or `TOKEN_REUSED` (the session is revoked)", body = ErrorBody),
    ))]
pub async fn refresh_token(
    State(app): State<AppState>,
    ValidatedJson(request): ValidatedJson<RefreshRequest>,
) -> ApiResult<Response> {
    let body = service::refresh::refresh(&app, &request.refresh_token).await?;
    Ok(tokens(StatusCode::OK, body))
}

#[utoipa::path(summary = "Log out", description = "Revokes the current session (its access tokens stop working at once) and unregisters the push devices bound to it. The body, with the session's `refreshToken`, is optional.",
    post, path = "/api/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>),
    security(("bearer" = [])),
    responses((status = 204, description = "The session is revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(app): State<AppState>,
    user: AuthUser,
    OptionalJson(request): OptionalJson<LogoutRequest>,
) -> ApiResult<StatusCode> {
    let refresh = request.and_then(|r| r.refresh_token);
    service::logout::logout(&app, user.user_id, user.session_id, refresh).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Log out everywhere", description = "Revokes every session of the user, this one included.",
    post, path = "/api/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every session of the user is revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout_all(State(app): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    service::logout::logout_all(&app, user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Request a password reset", description = "Answers `202` whether or not the account exists; when it does, a single-use link valid 30 minutes is emailed.",
    post, path = "/api/auth/reset-password", tag = "auth", request_body(content = ResetPasswordRequest, example = json!({"email": "ada@example.com"})),
    responses((status = 202, description = "Accepted, whether or not the account exists; a link valid 30 minutes is emailed if it does"),
        (status = 400, body = ErrorBody)))]
pub async fn request_password_reset(
    State(app): State<AppState>,
    ValidatedJson(request): ValidatedJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    service::password_reset::request(&app, &request.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(summary = "Set a new password with a reset token", description = "Consumes the emailed token, sets the password and revokes every session of the account.",
    post, path = "/api/auth/reset-password/confirm", tag = "auth",
    request_body = ResetPasswordConfirmRequest,
    responses((status = 204, description = "Password set; every session is revoked"),
        (status = 400, description = "`INVALID_TOKEN`, or `VALIDATION_FAILED` for a refused password", body = ErrorBody)))]
pub async fn confirm_password_reset(
    State(app): State<AppState>,
    ValidatedJson(request): ValidatedJson<ResetPasswordConfirmRequest>,
) -> ApiResult<StatusCode> {
    service::password_reset::confirm(&app, &request.token, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Change your password", description = "Needs the current password. Every other session of yours is revoked; this one stays logged in.",
    post, path = "/api/auth/change-password", tag = "auth", request_body(content = ChangePasswordRequest, example = json!({"currentPassword": "Plum-Kettle-Harbour-91", "newPassword": "Quince-Lantern-Meadow-37"})),
    security(("bearer" = [])),
    responses((status = 204, description = "Password changed; every other session is revoked"),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`INVALID_CREDENTIALS`: the current password is wrong", body = ErrorBody)))]
pub async fn change_password(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedJson(request): ValidatedJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    service::change_password::change_password(&app, user.user_id, user.session_id, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Verify your email", description = "Consumes the emailed verification token and marks the email verified.",
    post, path = "/api/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses((status = 204, description = "Email marked verified"),
        (status = 400, description = "`INVALID_TOKEN`: a token this server did not issue, or one already used or expired (a well-formed token is not necessarily a valid one)", body = ErrorBody)))]
pub async fn verify_email(
    State(app): State<AppState>,
    ValidatedJson(request): ValidatedJson<VerifyEmailRequest>,
) -> ApiResult<StatusCode> {
    service::verification::verify(&app, &request.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Send the verification email again", description = "Emails a new verification link to your address (a previous link stops working). Answers `202` also when the email is verified already.",
    post, path = "/api/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses((status = 202, description = "A new link is emailed (nothing happens if already verified)"),
        (status = 401, body = ErrorBody)))]
pub async fn resend_verification_email(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<StatusCode> {
    service::verification::resend(&app, user.user_id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(summary = "List your sessions", description = "Every live session of yours, with the device it was opened from; `current` marks the one making this request.",
    get, path = "/api/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list_sessions(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(
        service::sessions::list(&app, user.user_id, user.session_id).await?,
    ))
}

#[utoipa::path(summary = "Revoke a session", description = "Ends one of your own sessions: its tokens stop working at once.",
    delete, path = "/api/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204, description = "Session revoked"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, description = "Not one of your live sessions", body = ErrorBody)))]
pub async fn revoke_session(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<SessionId>,
) -> ApiResult<StatusCode> {
    service::sessions::revoke(&app, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
