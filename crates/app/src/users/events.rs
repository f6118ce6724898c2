//! The events the users feature raises.

use entity::EmailChangeId;
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;

/// An account's email changed: tells the previous address (kept in `email_changes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEmailChanged {
    pub change_id: EmailChangeId,
}

impl Event for UserEmailChanged {
    const NAME: &'static str = "user:email_changed";
}
