use sea_orm::entity::prelude::*;

use crate::ids::{EmailChangeId, UserId};

/// An account's email changed from `previous_email` at `created_at`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EmailChangeId,
    pub user_id: UserId,
    pub previous_email: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
