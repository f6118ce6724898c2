//! Where a notification goes: a device token of one of the three providers, parsed from what
//! the client registers, so that a provider is only ever handed a token of its own format.

use serde::Serialize;

use super::webpush::WebPushSubscription;
use crate::platform::error::InvalidInput;

/// The parse error of a registered token, named by the field it is about (`token`,
/// `token.endpoint`, `token.keys.p256dh`...).
pub type InvalidDeviceToken = InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushService {
    WebPush,
    Fcm,
    Apns,
}

impl PushService {
    pub const ALL: [Self; 3] = [Self::WebPush, Self::Fcm, Self::Apns];

    /// The `provider` label of the push metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::WebPush => "webpush",
            Self::Fcm => "fcm",
            Self::Apns => "apns",
        }
    }

    /// The name of the provider's circuit breaker, as `/health` reports it.
    pub fn breaker_name(self) -> &'static str {
        match self {
            Self::WebPush => "push_webpush",
            Self::Fcm => "push_fcm",
            Self::Apns => "push_apns",
        }
    }
}

impl std::fmt::Display for PushService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceToken {
    /// A browser's `PushSubscription`.
    WebPush(WebPushSubscription),
    /// An FCM registration token (Android, or any app using the Firebase SDK).
    Fcm(FcmToken),
    /// An APNs device token (iOS, macOS), in hex.
    Apns(ApnsDeviceToken),
}

impl DeviceToken {
    /// Parses what a client registers: for Web Push, the `PushSubscription` JSON
    /// (`JSON.stringify(subscription)`); for FCM and APNs, the token string.
    pub fn parse(service: PushService, raw: &str) -> Result<Self, InvalidDeviceToken> {
        match service {
            PushService::WebPush => WebPushSubscription::from_json(raw).map(Self::WebPush),
            PushService::Fcm => FcmToken::parse(raw).map(Self::Fcm),
            PushService::Apns => ApnsDeviceToken::parse(raw).map(Self::Apns),
        }
    }

    pub fn service(&self) -> PushService {
        match self {
            Self::WebPush(_) => PushService::WebPush,
            Self::Fcm(_) => PushService::Fcm,
            Self::Apns(_) => PushService::Apns,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcmToken(String);

impl FcmToken {
    pub fn parse(raw: &str) -> Result<Self, InvalidDeviceToken> {
        let token = raw.trim();
        // Real tokens are about 160 characters of base64url with a colon; the bound only
        // keeps junk out.
        if token.is_empty() || token.len() > 4096 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "token",
                "must be an FCM registration token (up to 4096 visible characters)",
            ));
        }
        Ok(Self(token.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsDeviceToken(String);

impl ApnsDeviceToken {
    pub fn parse(raw: &str) -> Result<Self, InvalidDeviceToken> {
        let token = raw.trim().to_ascii_lowercase();
        // 32 bytes today; Apple says the length may grow, so up to 100 bytes is accepted.
        let ok = (64..=200).contains(&token.len())
            && token.len().is_multiple_of(2)
            && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(InvalidInput::new(
                "token",
                "must be an APNs device token in hex (64 to 200 digits)",
            ));
        }
        Ok(Self(token))
    }

    /// Lower-case hex: safe in the request path as it is.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_for_their_provider() {
        let hex = "A1".repeat(32);
        let apns = DeviceToken::parse(PushService::Apns, &hex).unwrap();
        assert_eq!(apns, DeviceToken::Apns(ApnsDeviceToken("a1".repeat(32))));
        for bad in [
            "a1".repeat(31),
            format!("{}z", "a1".repeat(32)),
            "a".repeat(65),
        ] {
            let err = DeviceToken::parse(PushService::Apns, &bad).unwrap_err();
            assert_eq!(err.path, "token");
        }
        let fcm = DeviceToken::parse(PushService::Fcm, " fXyz:APA91b-_x ").unwrap();
        assert_eq!(fcm.service(), PushService::Fcm);
        for bad in ["", "has space", &"x".repeat(4097)] {
            assert!(
                DeviceToken::parse(PushService::Fcm, bad).is_err(),
                "{bad:?}"
            );
        }
        let err = DeviceToken::parse(PushService::WebPush, "a1b2").unwrap_err();
        assert_eq!(err.path, "token");
    }
}
