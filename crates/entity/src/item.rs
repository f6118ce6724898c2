use sea_orm::entity::prelude::*;

use crate::ids::{ItemId, UserId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ItemId,
    pub owner_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub data: Option<Json>,
    pub version: i64,
    pub change_seq: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
