use sea_orm::entity::prelude::*;

use crate::ids::UserId;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "item_owners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: UserId,
    pub last_seq: i64,
    pub live_count: i64,
    pub purged_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
