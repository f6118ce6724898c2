//! The events the notifications feature raises.

use entity::{DeviceId, NotificationId, UserId};
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;

/// A stored notification must be pushed to its user's devices (`{userId, notificationId}`: the
/// message is read from the inbox when the job runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSend {
    pub user_id: UserId,
    pub notification_id: NotificationId,
}

impl Event for NotificationSend {
    const NAME: &'static str = "notification:send";
}

/// One notification to one device: a job of its own, so that a device that fails (and is
/// retried) never makes the others receive it twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushToDevice {
    pub notification_id: NotificationId,
    pub device_id: DeviceId,
}

impl Event for PushToDevice {
    const NAME: &'static str = "push:device";
}
