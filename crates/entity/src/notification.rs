use sea_orm::entity::prelude::*;

use crate::ids::{NotificationId, UserId};

/// A notification in a user's in-app inbox (and pushed to the user's devices).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationId,
    pub user_id: UserId,
    pub title: String,
    pub body: String,
    /// A JSON object delivered to the app beside the notification.
    pub data: Option<Json>,
    pub read_at: Option<DateTimeUtc>,
    /// When it was fanned out to the devices: set once, so a retried fan-out sends nothing twice.
    pub pushed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
