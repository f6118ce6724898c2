//! Background jobs: the handlers of outbox events and the scheduled maintenance tasks. Each
//! job is idempotent (delivery is at least once) and takes ids, not whole objects.

mod maintenance;

use std::sync::Arc;

use crate::auth::jobs::{SendPasswordResetEmail, SendVerificationEmail};
use crate::auth::service::password_reset::PASSWORD_RESET_REQUESTED;
use crate::auth::service::register::USER_REGISTERED;
use crate::auth::service::verification::EMAIL_VERIFICATION_REQUESTED;
use crate::items::jobs::PurgeTombstones;
use crate::platform::jobs::runner::{EventHandlers, ScheduledTask};
use crate::users::jobs::SendEmailChangedNotice;
use crate::users::service::EMAIL_CHANGED;

pub use maintenance::PurgeExpired;

/// Event types without a handler here (such as `data:created`) stay in the outbox, unclaimed,
/// until a handler for them is added.
pub fn event_handlers() -> EventHandlers {
    let mut handlers = EventHandlers::new();
    handlers.insert(USER_REGISTERED, Arc::new(SendVerificationEmail));
    handlers.insert(
        EMAIL_VERIFICATION_REQUESTED,
        Arc::new(SendVerificationEmail),
    );
    handlers.insert(PASSWORD_RESET_REQUESTED, Arc::new(SendPasswordResetEmail));
    handlers.insert(EMAIL_CHANGED, Arc::new(SendEmailChangedNotice));
    handlers
}

pub fn scheduled_tasks() -> Vec<Arc<dyn ScheduledTask>> {
    vec![Arc::new(PurgeExpired), Arc::new(PurgeTombstones)]
}
