use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, SessionId, UserId};

/// A push device: where notifications to a user reach one app install or browser. It belongs
/// to the session that registered it and goes when that session ends.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeviceId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub platform: Platform,
    /// The provider's address of the device: an FCM or APNs token, or a browser's
    /// PushSubscription JSON. Never sent back to clients.
    pub token: String,
    /// SHA-256 (hex) of the provider and the address (for Web Push, the endpoint): unique.
    pub token_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What kind of client registered the device, stored as its lower-case name; it picks the
/// push provider (iOS: APNs, Android: FCM, web: Web Push).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    #[sea_orm(string_value = "ios")]
    Ios,
    #[sea_orm(string_value = "android")]
    Android,
    #[sea_orm(string_value = "web")]
    Web,
}
