use sea_orm::entity::prelude::*;

use crate::ids::UserId;

/// Bytes of stored files per owner: the storage quota is checked and counted on this row in
/// the transaction that commits an upload, so concurrent uploads cannot both pass it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "file_usage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: UserId,
    pub bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
