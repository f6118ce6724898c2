//! Request and response types of the Users API.

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Role;
use crate::platform::text::printable;

/// A user, as every endpoint returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: Uuid,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(required = true, example = "Ada")]
    pub name: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::user::Model> for UserDto {
    fn from(user: entity::user::Model) -> Self {
        Self {
            id: user.id.into(),
            email: user.email,
            name: user.name,
            role: user.role,
            email_verified: user.email_verified,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// `PUT /api/users/me`: absent fields stay as they are; `name: null` clears the name.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateMeRequest {
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::double_option"
    )]
    #[garde(custom(valid_name))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, example = "Ada")]
    pub name: Option<Option<String>>,
    /// Absent: unchanged. An address cannot be removed, so `null` is refused.
    #[serde(default, deserialize_with = "present_trimmed")]
    #[garde(inner(length(max = 254), email))]
    #[schema(value_type = String, format = "email", max_length = 254)]
    pub email: Option<String>,
    /// Required when `email` changes (`400` without it, `401 INVALID_CREDENTIALS` when wrong);
    /// ignored otherwise.
    #[garde(inner(length(chars, min = 1, max = 128)))]
    #[schema(format = Password, min_length = 1, max_length = 128)]
    pub current_password: Option<String>,
}

/// For optional fields that may be left out but not set to `null`.
fn present_trimmed<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    crate::platform::serde_ext::trimmed(deserializer).map(Some)
}

fn valid_name(value: &Option<Option<String>>, _: &()) -> garde::Result {
    match value {
        Some(Some(name)) => {
            let chars = name.trim().chars().count();
            if (1..=100).contains(&chars) {
                printable(name, &())
            } else {
                Err(garde::Error::new(
                    "length is lower than 1 or greater than 100",
                ))
            }
        }
        _ => Ok(()),
    }
}

/// `DELETE /api/users/me`: the password confirms the deletion.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteMeRequest {
    #[garde(length(chars, min = 1, max = 128))]
    #[schema(format = Password, min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// 1..100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// >= 0; gives `total`. Exclusive with `cursor`.
    #[garde(inner(range(min = 0)))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Case-insensitive substring of email or name.
    #[garde(inner(length(chars, max = 200), custom(printable)))]
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 200
    )]
    pub q: Option<String>,
}
