//! SeaORM entities: the one data model for SQLite and PostgreSQL. Entities never go on the wire;
//! each feature maps them to its own response types.

pub mod device;
pub mod email_change;
pub mod file;
pub mod file_usage;
pub mod idempotency_key;
pub mod idempotency_usage;
pub mod ids;
pub mod item;
pub mod item_owner;
pub mod login_throttle;
pub mod notification;
pub mod outbox_event;
pub mod refresh_token;
pub mod session;
pub mod user;
pub mod user_token;

pub use ids::{
    DeviceId, EmailChangeId, EventId, FileId, ItemId, NotificationId, RefreshTokenId, SessionId,
    UserId, UserTokenId,
};
