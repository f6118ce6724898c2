use sea_orm::entity::prelude::*;

use crate::ids::{RefreshTokenId, SessionId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RefreshTokenId,
    pub session_id: SessionId,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// The pair issued when this token was used, sealed (AEAD, keyed from the server secret,
    /// bound to this row's id): re-sent to a retry inside the grace window.
    pub successor: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
