//! Push notifications: the three providers (Web Push, Firebase Cloud Messaging, APNs) behind
//! one small trait, each behind its own circuit breaker, with its metrics.
//!
//! A notification is always sent from a background job, never from a request. The handler
//! that sends one calls [`Push::deliver`] and acts on the [`PushOutcome`]: `Gone` means the
//! provider says the device token is dead (delete the device), `Skipped` that the provider is
//! not configured here (logged once, never retried). Failures come back as `JobError`s the
//! runner understands: a retry (honouring the provider's `Retry-After`), a permanent failure,
//! or a deferral while the provider's circuit is open.

pub mod apns;
pub mod credentials;
mod dispatch;
mod error;
pub mod fcm;
mod http;
mod message;
mod token;
pub mod webpush;

pub use dispatch::{Push, PushOutcome};
pub use error::PushError;
pub use message::{PushMessage, Urgency};
pub use token::{DeviceToken, InvalidDeviceToken, PushService};

/// One provider. Implementations map every answer of theirs onto [`PushError`]; the breaker,
/// the metrics and the "not configured" case are [`Push`]'s.
#[async_trait::async_trait]
pub trait PushProvider: Send + Sync {
    async fn send(&self, target: &DeviceToken, message: &PushMessage) -> Result<(), PushError>;
}
