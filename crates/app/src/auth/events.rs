//! The events the auth feature raises, each stored with the change that raises it.

use entity::UserId;
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;

/// A user signed up: sends the verification email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: UserId,
}

impl Event for UserRegistered {
    const NAME: &'static str = "user:registered";
}

/// A verification link was asked for again, or the address changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationEmailRequested {
    pub user_id: UserId,
}

impl Event for VerificationEmailRequested {
    const NAME: &'static str = "auth:email_verification_requested";
}

/// Someone asked to reset the password of an address. `user_id` is `None` when no account has
/// it: the event is stored either way, so the request costs the same and reveals nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    pub user_id: Option<UserId>,
}

impl Event for PasswordResetRequested {
    const NAME: &'static str = "auth:password_reset_requested";
}
