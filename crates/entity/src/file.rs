use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{FileId, UserId};

/// An uploaded file: what the client sees, and where its bytes are. The storage keys derive
/// from the id, never from the client's filename.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: FileId,
    pub owner_id: UserId,
    /// The client's name for it, sanitised for display.
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    pub size: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub storage_key: String,
    pub status: FileStatus,
    pub thumbnail_key: Option<String>,
    pub thumbnail_type: Option<String>,
    pub thumbnail_size: Option<i64>,
    /// Why processing failed (for operators; never sent to clients).
    pub failure: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where background processing of a file stands, stored as its lower-case name.
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
pub enum FileStatus {
    #[sea_orm(string_value = "processing")]
    Processing,
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "failed")]
    Failed,
}
