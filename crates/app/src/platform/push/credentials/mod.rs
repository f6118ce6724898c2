//! The push providers' credentials, parsed and checked by the configuration at start-up (a
//! bad key is a configuration error, exit code 2) and then used by the providers. Nothing here
//! reads the environment or knows the configuration.

mod apns_key;
mod service_account;
mod vapid;

pub use apns_key::{ApnsKey, is_apple_id};
pub use service_account::{GOOGLE_TOKEN_URL, ServiceAccount};
pub use vapid::{VapidKeyError, VapidKeys, decode_base64url};
