//! Push delivery. `notification:send` fans a notification out to one `push:device` job per
//! device of its user, once (the notification is marked in the transaction that queues them),
//! so a device whose provider fails is retried alone and the others never receive it twice.
//! Each `push:device` job sends through its provider (`Push`, behind the provider's breaker):
//! a token the provider reports gone deletes the device; 429 and 5xx are retried with backoff,
//! after the provider's `Retry-After`; a provider that is not configured is skipped.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::events::{NotificationSend, PushToDevice};
use super::repo::{self, Notification};
use crate::devices;
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::jobs::outbox;
use crate::platform::jobs::spec::JobSpec;
use crate::platform::push::{PushMessage, PushOutcome};
use crate::platform::{clock, db};
use crate::state::AppState;

/// `notification:send`: queues one `push:device` job per device of the user.
pub struct FanOutNotification;

#[async_trait::async_trait]
impl EventHandler<NotificationSend> for FanOutNotification {
    async fn handle(
        &self,
        app: &AppState,
        event: NotificationSend,
        _: Delivery,
    ) -> Result<(), JobError> {
        let txn = db::begin_write(&app.db).await?;
        // Deleted since (with its account), or fanned out by an earlier delivery of this event.
        if !repo::mark_pushed(&txn, event.notification_id, clock::now()).await? {
            return Ok(());
        }
        let targets = devices::service::of_user(&txn, event.user_id).await?;
        for device in &targets {
            let job = PushToDevice {
                notification_id: event.notification_id,
                device_id: device.id,
            };
            outbox::enqueue(&txn, &job).await?;
        }
        txn.commit().await?;
        app.wake_outbox_relay();
        tracing::debug!(devices = targets.len(), "notification fanned out");
        Ok(())
    }
}

/// `push:device`: one notification to one device.
pub struct PushNotificationToDevice;

/// A provider that stays down is retried for about a day: 5 s doubling up to an hour between
/// attempts; an open circuit defers without spending attempts.
pub fn push_job_spec() -> JobSpec {
    JobSpec {
        concurrency: 8,
        timeout: Duration::from_secs(60),
        max_attempts: 30,
        backoff_base: Duration::from_secs(5),
        backoff_max: Duration::from_secs(3600),
        lease: None,
    }
}

#[async_trait::async_trait]
impl EventHandler<PushToDevice> for PushNotificationToDevice {
    async fn handle(
        &self,
        app: &AppState,
        event: PushToDevice,
        _: Delivery,
    ) -> Result<(), JobError> {
        let Some(notification) = repo::find(&*app.db, event.notification_id).await? else {
            return Ok(()); // deleted with its account
        };
        let Some(device) = devices::service::find(&*app.db, event.device_id).await? else {
            return Ok(()); // unregistered since (logout, deletion, pruned)
        };
        if device.user_id != notification.user_id {
            return Ok(()); // the token moved to another account since
        }
        let provider = devices::service::service_of(device.platform).name();
        let Ok(target) = devices::service::target(&device) else {
            // Stored tokens were parsed when registered; one that no longer parses never will.
            devices::service::prune(&*app.db, &device).await?;
            tracing::warn!(device.id = %device.id, provider, "device with an unreadable token removed");
            return Ok(());
        };
        match app.push.deliver(&target, &message(&notification)).await? {
            PushOutcome::Sent => {
                let latency = (clock::now() - notification.created_at)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("notification_delivery_latency_seconds", "provider" => provider)
                    .record(latency.as_secs_f64());
            }
            PushOutcome::Gone => {
                let removed = devices::service::prune(&*app.db, &device).await?;
                tracing::info!(device.id = %device.id, provider, removed, "device token gone: device removed");
            }
            PushOutcome::Skipped => {}
        }
        Ok(())
    }

    fn spec(&self) -> JobSpec {
        push_job_spec()
    }
}

/// What the providers carry: the title and body, and the data as strings (FCM takes strings
/// only; other values travel as their JSON text), with the notification's id.
fn message(notification: &Notification) -> PushMessage {
    let mut message = PushMessage::new(&notification.title, &notification.body);
    let mut data = BTreeMap::new();
    if let Some(Value::Object(fields)) = &notification.data {
        for (key, value) in fields {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            data.insert(key.clone(), text);
        }
    }
    data.insert("notificationId".to_owned(), notification.id.to_string());
    message.data = data;
    message
}
