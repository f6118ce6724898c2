use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub request_hash: String,
    pub state: KeyState,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub response_headers: Option<Json>,
    /// Sealed body plus headers: what the row counts against its scope's cap.
    pub response_bytes: i64,
    pub locked_until: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a request holding a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum KeyState {
    /// Claimed by a request that is still running (until `locked_until`).
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// Done; the response is stored for replays.
    #[sea_orm(string_value = "completed")]
    Completed,
}
