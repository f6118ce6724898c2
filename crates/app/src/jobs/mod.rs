//! Background jobs: which handler each outbox event goes to, the scheduled maintenance tasks,
//! and the admin API over the job queues (`/api/admin/jobs`). Each job is idempotent (delivery is at least once) and takes ids, not whole objects.

mod backup;
pub mod dto;
pub mod error;
mod maintenance;
pub mod routes;
pub mod service;

use std::sync::Arc;

use crate::auth::events::{PasswordResetRequested, UserRegistered, VerificationEmailRequested};
use crate::auth::jobs::{SendPasswordResetEmail, SendVerificationEmail};
use crate::files::events::{FileDeleted, FileUploaded};
use crate::files::jobs::{ProcessUploadedFile, RemoveStoredFile};
use crate::files::sweep::SweepOrphanedFiles;
use crate::items::events::ItemCreated;
use crate::items::jobs::PurgeTombstones;
use crate::notifications::events::{NotificationSend, PushToDevice};
use crate::notifications::jobs::{FanOutNotification, PushNotificationToDevice};
use crate::platform::jobs::event::EventHandlers;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::users::events::UserEmailChanged;
use crate::users::jobs::SendEmailChangedNotice;

pub use backup::ScheduledBackup;
pub use maintenance::PurgeExpired;

/// Every event type the features raise has an entry here, so none piles up pending.
pub fn event_handlers() -> EventHandlers {
    EventHandlers::new()
        .on::<UserRegistered>(SendVerificationEmail)
        .on::<VerificationEmailRequested>(SendVerificationEmail)
        .on::<PasswordResetRequested>(SendPasswordResetEmail)
        .on::<UserEmailChanged>(SendEmailChangedNotice)
        .on::<FileUploaded>(ProcessUploadedFile)
        .on::<FileDeleted>(RemoveStoredFile)
        .on::<NotificationSend>(FanOutNotification)
        .on::<PushToDevice>(PushNotificationToDevice)
        // Raised for consumers to come (webhooks, search indexing): delivered as a no-op.
        .acknowledge::<ItemCreated>()
}

pub fn scheduled_tasks() -> Vec<Arc<dyn ScheduledTask>> {
    vec![
        Arc::new(PurgeExpired),
        Arc::new(PurgeTombstones),
        Arc::new(SweepOrphanedFiles),
        Arc::new(ScheduledBackup),
    ]
}
