//! Request and response types of the notifications API.

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::platform::text::{multiline, printable};

/// `POST /api/notifications` (administrators).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"userId": "0193a5b0-7e1c-7000-8000-000000000001", "title": "Your order shipped", "body": "It arrives on Thursday.", "data": {"orderId": "1042"}}))]
pub struct SendNotification {
    /// The recipient.
    #[garde(skip)]
    pub user_id: Uuid,
    /// 1..200 characters once trimmed, no control characters.
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(chars, min = 1, max = 200), custom(printable))]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        min_length = 1,
        max_length = 200,
        example = "Your order shipped"
    )]
    pub title: String,
    /// 1..2000 characters once trimmed; newlines are fine.
    #[serde(deserialize_with = "crate::platform::serde_ext::trimmed")]
    #[garde(length(chars, min = 1, max = 2000), custom(multiline))]
    #[schema(
        pattern = r"^[^\u0000\u202A-\u202E\u2066-\u2069]*$",
        min_length = 1,
        max_length = 2000,
        example = "It arrives on Thursday."
    )]
    pub body: String,
    /// A JSON object for the app, delivered beside the notification (values that are not
    /// strings reach FCM and Web Push as their JSON text). Title, body and data together must
    /// fit in 3000 bytes (serialised), what every push provider can carry.
    #[serde(default)]
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

/// A notification in the inbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDto {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    /// The object it was sent with, or null.
    #[schema(required = true, value_type = Option<Object>)]
    pub data: Option<Value>,
    /// When it was marked read; null while unread.
    #[schema(required = true)]
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListNotificationsQuery {
    /// 1..100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// >= 0; gives `total`. Exclusive with `cursor`.
    #[garde(inner(range(min = 0)))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page (same `unread`). Newest first.
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// `true`: unread notifications only.
    #[garde(skip)]
    pub unread: Option<bool>,
}

/// A page of the inbox, newest first, with the unread count.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub items: Vec<NotificationDto>,
    pub limit: u64,
    /// Offset pagination only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub offset: Option<u64>,
    /// Offset pagination only: how many the listing holds (unread ones with `unread=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<u64>,
    /// Null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// How many of your notifications are unread (whatever the page shows).
    pub unread: u64,
}
