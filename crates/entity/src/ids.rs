//! One id type per resource, so that `get(owner, id)` cannot be called with its arguments
//! swapped. Each is a UUID (v7 for new rows) in the database and on the wire, where it is a
//! plain string: `#[serde(transparent)]`.

use std::fmt;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType, Serialize,
            Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// UUID keys are never generated from an integer.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A session: one login on one device.
    SessionId
);
id_type!(
    /// A refresh token of a session.
    RefreshTokenId
);
id_type!(
    /// A single-use emailed token (password reset, email verification).
    UserTokenId
);
id_type!(
    /// A data item.
    ItemId
);
id_type!(
    /// An event in the outbox.
    EventId
);
id_type!(
    /// A change of an account's email address.
    EmailChangeId
);
id_type!(
    /// An uploaded file.
    FileId
);
id_type!(
    /// A push device (an app install or a browser) of a user.
    DeviceId
);
id_type!(
    /// A notification in a user's inbox.
    NotificationId
);
