use sea_orm::entity::prelude::*;

use crate::ids::EventId;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EventId,
    pub event_type: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub available_at: DateTimeUtc,
    pub attempts: i32,
    pub processed_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
