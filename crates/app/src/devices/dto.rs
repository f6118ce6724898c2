//! Request and response types of the devices API.

use chrono::{DateTime, Utc};
use entity::device::Platform;
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/devices`.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"platform": "android", "token": "fcm-device-1:APA91bH-example_token"}))]
pub struct RegisterDevice {
    /// Picks the provider: `ios` (APNs), `android` (FCM), `web` (Web Push).
    #[garde(skip)]
    pub platform: Platform,
    /// `ios`: the APNs device token in hex (64 to 200 digits). `android`: the FCM registration
    /// token (1 to 4096 visible characters). `web`: the browser's `PushSubscription`, as the
    /// object `subscription.toJSON()` gives or that object as a JSON string: `{endpoint,
    /// expirationTime?, keys: {p256dh, auth}}`, an `https` endpoint with a host name (at most
    /// 2048 characters), `p256dh` an uncompressed P-256 key and `auth` 16 bytes, both base64url.
    #[garde(skip)]
    pub token: TokenInput,
}

/// A device token: a string, or (for `web`) the PushSubscription object.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TokenInput {
    /// An APNs or FCM token, or (for `web`) the PushSubscription as a JSON string.
    #[schema(example = "fcm-device-1:APA91bH-example_token")]
    Text(String),
    /// For `web`: the PushSubscription object, `{endpoint, expirationTime?, keys: {p256dh, auth}}`.
    Subscription(Map<String, Value>),
}

/// A registered device. Its token is never sent back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDto {
    pub id: Uuid,
    pub platform: Platform,
    /// Whether the calling session registered it (it goes when that session ends).
    pub current: bool,
    pub created_at: DateTime<Utc>,
    /// When it was last registered (registering the same token again updates it).
    pub updated_at: DateTime<Utc>,
}

/// `GET /api/devices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<DeviceDto>,
}

/// `GET /api/push/vapid-public-key`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VapidPublicKey {
    /// The application server key (an uncompressed P-256 point, base64url), for
    /// `pushManager.subscribe({applicationServerKey})`.
    #[schema(
        example = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    )]
    pub public_key: String,
}
