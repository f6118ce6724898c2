//! Request and response types of the Data API.

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::platform::error::ErrorCode;
use crate::platform::text::{multiline, printable};

/// An item, as every endpoint returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemDto {
    pub id: Uuid,
    #[schema(example = "Groceries")]
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Any JSON object, up to 64 KiB serialised; null when absent.
    #[schema(required = true, value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Grows by one with every update; the `ETag` is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::item::Model> for ItemDto {
    fn from(item: entity::item::Model) -> Self {
        Self {
            id: item.id.into(),
            name: item.name,
            description: item.description,
            data: item.data,
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// The body of create and of the full replace that `PUT` is.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ItemInput {
    /// 1..100 characters once trimmed, without control characters or bidirectional controls
    /// (U+202A-U+202E, U+2066-U+2069).
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(chars, min = 1, max = 100), custom(printable))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        min_length = 1,
        max_length = 100,
        example = "Groceries"
    )]
    pub name: String,
    /// Up to 2000 characters; null or absent for none. Newlines and tabs are fine; NUL
    /// (`\u0000`), which the databases cannot store, and bidirectional controls are not.
    #[serde(default)]
    #[garde(inner(length(chars, max = 2000), custom(multiline)))]
    #[schema(pattern = r"^[^\u0000\u202A-\u202E\u2066-\u2069]*$", max_length = 2000)]
    pub description: Option<String>,
    /// A JSON object (not an array or a scalar), at most 64 KiB serialised and 32 levels deep.
    #[serde(default)]
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum ItemSort {
    #[serde(rename = "createdAt")]
    CreatedAt,
    #[default]
    #[serde(rename = "-createdAt")]
    CreatedAtDesc,
    #[serde(rename = "updatedAt")]
    UpdatedAt,
    #[serde(rename = "-updatedAt")]
    UpdatedAtDesc,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListItemsQuery {
    /// 1..100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// >= 0; gives `total`. Exclusive with `cursor`.
    #[garde(inner(range(min = 0)))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page (same `sort` and `q`).
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// `createdAt`, `-createdAt` (default), `updatedAt`, `-updatedAt`, `name`, `-name`.
    #[garde(skip)]
    #[param(inline)]
    pub sort: Option<ItemSort>,
    /// Case-insensitive substring of the name; no control characters.
    #[garde(inner(length(chars, max = 100), custom(printable)))]
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        max_length = 100
    )]
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `cursor` of the previous answer; absent (or empty) for a first, full sync. A cursor
    /// is only valid for the user it was handed to (`400` otherwise).
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?$")]
    pub since: Option<String>,
    /// 1..1000 changes per page, default 100.
    #[garde(inner(range(min = 1, max = 1000)))]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Upsert,
    Delete,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub id: Uuid,
    pub op: ChangeOp,
    /// The item as it is now; absent for deletions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub item: Option<ItemDto>,
    /// When the change was made.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangesPage {
    /// In commit order; each item at most once, in its latest state.
    pub changes: Vec<Change>,
    /// Pass as `since` next time (also when `changes` is empty).
    pub cursor: String,
    /// More changes are waiting: ask again at once with `cursor`.
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BatchOp {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchOperation {
    #[garde(skip)]
    pub op: BatchOp,
    /// Required for update and delete; not allowed for create.
    #[garde(skip)]
    pub id: Option<Uuid>,
    /// The ETag the item must still have (as from the `ETag` header, e.g. `"3"`); at most 64
    /// characters, checked with the operation (garde would name it `if_match`).
    #[garde(skip)]
    #[schema(max_length = 64)]
    pub if_match: Option<String>,
    /// Required for create and update.
    #[serde(
        default,
        deserialize_with = "crate::platform::serde_ext::object_option"
    )]
    #[garde(dive)]
    pub body: Option<ItemInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchRequest {
    /// 1..100 operations, applied in order.
    #[garde(length(min = 1, max = 100), dive)]
    #[serde(deserialize_with = "crate::platform::serde_ext::objects")]
    #[schema(min_items = 1, max_items = 100)]
    pub operations: Vec<BatchOperation>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// `false`: best effort, each operation on its own. Default `true`: all or nothing.
    #[garde(skip)]
    pub atomic: Option<bool>,
}

/// The error of one operation of a best-effort batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationError {
    pub error: String,
    #[schema(value_type = ErrorCode)]
    pub code: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Vec<crate::platform::error::FieldError>>)]
    pub details: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationResult {
    /// The HTTP status the operation alone would have had.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub item: Option<ItemDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<OperationError>,
}

impl OperationResult {
    /// A best-effort operation that failed: the status, code and message the same error would
    /// have had as a request of its own.
    pub fn failed(err: super::error::ItemError) -> Self {
        let error = crate::http::error::ApiError::from(err);
        Self {
            status: error.status().as_u16(),
            item: None,
            error: Some(OperationError {
                error: error.message.to_string(),
                code: serde_json::json!(error.code),
                details: error.details.map(|d| serde_json::json!(d)),
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<OperationResult>,
}

#[cfg(test)]
#[path = "input_props.rs"]
mod input_props;
