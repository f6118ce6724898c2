//! The events the auth feature raises, each stored with the change that raises it.

use entity::UserId;
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;
use crate::platform::secrets;

/// The SHA-256 of an address as stored: tells a job which address its event was raised for
/// without putting the address itself in the outbox and the job queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AddressDigest(String);

impl AddressDigest {
    pub fn of(address: &str) -> Self {
        Self(secrets::hash_token(address))
    }

    pub fn is_of(&self, address: &str) -> bool {
        *self == Self::of(address)
    }
}

/// A user signed up: sends the verification email to `address`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: UserId,
    /// Which address the link is for, as [`AddressDigest`]. If the account has another one by
    /// the time the job runs, nothing is sent: the change raised its own event, and an account
    /// moving between addresses must not mail one address more than once per move. `None` in
    /// events queued before this field existed: those go to the current address.
    #[serde(default)]
    pub address: Option<AddressDigest>,
}

impl Event for UserRegistered {
    const NAME: &'static str = "user:registered";
}

/// A verification link was asked for again, or the address changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationEmailRequested {
    pub user_id: UserId,
    /// As in [`UserRegistered::address`].
    #[serde(default)]
    pub address: Option<AddressDigest>,
}

impl VerificationEmailRequested {
    /// A link for `address`, the account's address as stored.
    pub fn for_address(user_id: UserId, address: &str) -> Self {
        Self {
            user_id,
            address: Some(AddressDigest::of(address)),
        }
    }
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
