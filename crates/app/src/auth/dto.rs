//! Request and response types of the Auth API.

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::platform::text::printable;
use crate::users::dto::UserDto;

/// The device a session is opened from, shown in the session list. Values are trimmed; control
/// characters are refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeviceInfo {
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::trimmed_option"
    )]
    #[garde(inner(length(chars, max = 100), custom(printable)))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100,
        example = "Ada's iPhone"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::trimmed_option"
    )]
    #[garde(inner(length(chars, max = 32), custom(printable)))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 32,
        example = "ios"
    )]
    pub platform: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::trimmed_option"
    )]
    #[garde(inner(length(chars, max = 32), custom(printable)))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 32,
        example = "1.4.2"
    )]
    pub app_version: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterRequest {
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(max = 254), email)]
    #[schema(format = "email", max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// 8..128 characters; not your email, not one of the 10,000 most common passwords.
    #[garde(length(chars, min = 8, max = 128))]
    #[schema(example = "Plum-Kettle-Harbour-91", format = Password, min_length = 8, max_length = 128)]
    pub password: String,
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::trimmed_option"
    )]
    /// Trimmed; 1..100 characters, no control characters.
    #[garde(inner(length(chars, min = 1, max = 100), custom(printable)))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        min_length = 1,
        max_length = 100,
        example = "Ada"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::object_option"
    )]
    #[garde(dive)]
    pub device: Option<DeviceInfo>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginRequest {
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(max = 254), email)]
    #[schema(format = "email", max_length = 254, example = "ada@example.com")]
    pub email: String,
    #[garde(length(chars, min = 1, max = 128))]
    #[schema(example = "Plum-Kettle-Harbour-91", format = Password, min_length = 1, max_length = 128)]
    pub password: String,
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::object_option"
    )]
    #[garde(dive)]
    pub device: Option<DeviceInfo>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshRequest {
    #[garde(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogoutRequest {
    /// Optional: also ends the session this refresh token belongs to, if it is yours.
    #[garde(inner(length(min = 1, max = 512)))]
    #[schema(max_length = 512)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(max = 254), email)]
    #[schema(format = "email", max_length = 254)]
    pub email: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetPasswordConfirmRequest {
    #[garde(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
    #[garde(length(chars, min = 8, max = 128))]
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    #[garde(length(chars, min = 1, max = 128))]
    #[schema(format = Password, min_length = 1, max_length = 128)]
    pub current_password: String,
    #[garde(length(chars, min = 8, max = 128))]
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyEmailRequest {
    #[garde(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
}

/// Returned by register, login and refresh. Responses carrying it are `Cache-Control: no-store`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub user: UserDto,
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; exchange it at `/api/auth/refresh`. Single use: every refresh returns a new one
    /// (a retry inside the grace window is sent the same one again).
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    pub id: Uuid,
    #[schema(required = true)]
    pub device_name: Option<String>,
    #[schema(required = true)]
    pub platform: Option<String>,
    #[schema(required = true)]
    pub app_version: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    #[schema(required = true)]
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// True for the session of the access token making this request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionDto>,
}

#[cfg(test)]
#[path = "dto_props.rs"]
mod props;
