//! A browser's `PushSubscription` (`JSON.stringify(subscription)`): the push service
//! endpoint and the keys that encrypt messages to this browser. The API accepts it as the
//! device token, so it is parsed strictly: the server later POSTs to that endpoint.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::platform::error::InvalidInput;
use crate::platform::push::credentials::decode_base64url;

/// Endpoints of the real push services are around 200 characters.
const MAX_ENDPOINT_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPushSubscription {
    endpoint: Url,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    p256dh: Vec<u8>,
    /// The browser's authentication secret (16 bytes).
    auth: Vec<u8>,
    /// When the browser says the subscription ends, in milliseconds since the epoch.
    expiration_time: Option<i64>,
}

/// The browser's format. Strict, like every input: `toJSON()` yields exactly these fields.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Json {
    endpoint: String,
    #[serde(default)]
    expiration_time: Option<f64>,
    keys: Keys,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    p256dh: String,
    auth: String,
}

impl WebPushSubscription {
    pub fn from_json(json: &str) -> Result<Self, InvalidInput> {
        let parsed: Json = serde_json::from_str(json).map_err(|_| {
            InvalidInput::new(
                "token",
                "must be a PushSubscription as JSON: {endpoint, expirationTime, keys: {p256dh, auth}}",
            )
        })?;
        let endpoint = parse_endpoint(&parsed.endpoint)?;
        let p256dh = decode_base64url(&parsed.keys.p256dh)
            .filter(|key| key.len() == 65 && p256::PublicKey::from_sec1_bytes(key).is_ok())
            .ok_or(InvalidInput::new(
                "token.keys.p256dh",
                "must be an uncompressed P-256 public key (65 bytes, base64url)",
            ))?;
        let auth = decode_base64url(&parsed.keys.auth)
            .filter(|secret| secret.len() == 16)
            .ok_or(InvalidInput::new(
                "token.keys.auth",
                "must be a 16-byte authentication secret (base64url)",
            ))?;
        Ok(Self {
            endpoint,
            p256dh,
            auth,
            expiration_time: parsed.expiration_time.map(|ms| ms as i64),
        })
    }

    /// The same JSON a browser gives, for storing the subscription as a device token.
    pub fn to_json(&self) -> String {
        let json = Json {
            endpoint: self.endpoint.to_string(),
            expiration_time: self.expiration_time.map(|ms| ms as f64),
            keys: Keys {
                p256dh: URL_SAFE_NO_PAD.encode(&self.p256dh),
                auth: URL_SAFE_NO_PAD.encode(&self.auth),
            },
        };
        serde_json::to_string(&json).unwrap_or_default()
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The VAPID `aud`: the origin of the push service.
    pub fn audience(&self) -> String {
        self.endpoint.origin().ascii_serialization()
    }

    pub fn p256dh(&self) -> &[u8] {
        &self.p256dh
    }

    pub fn auth(&self) -> &[u8] {
        &self.auth
    }

    pub fn expiration_time(&self) -> Option<i64> {
        self.expiration_time
    }
}

/// An https URL with a host name: no IP literal (a client should not be able to point the
/// server at an address of its choosing), no credentials, no fragment.
fn parse_endpoint(raw: &str) -> Result<Url, InvalidInput> {
    let invalid = |message| InvalidInput::new("token.endpoint", message);
    if raw.len() > MAX_ENDPOINT_LEN {
        return Err(invalid("must be at most 2048 characters"));
    }
    let url = Url::parse(raw).map_err(|_| invalid("must be an absolute https URL"))?;
    if url.scheme() != "https" {
        return Err(invalid("must be an https URL"));
    }
    if url.domain().is_none() {
        return Err(invalid(
            "must name its host (an IP address is not accepted)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(invalid("must not carry credentials or a fragment"));
    }
    Ok(url)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use serde_json::json;

    use super::*;

    fn browser_keys() -> (String, String) {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let public = secret.public_key().to_encoded_point(false);
        (
            URL_SAFE_NO_PAD.encode(public.as_bytes()),
            URL_SAFE_NO_PAD.encode([9u8; 16]),
        )
    }

    fn subscription(endpoint: &str, p256dh: &str, auth: &str) -> String {
        json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": p256dh, "auth": auth}})
            .to_string()
    }

    #[test]
    fn a_browser_subscription_parses_and_round_trips() {
        let (p256dh, auth) = browser_keys();
        let raw = subscription(
            "https://fcm.googleapis.com/fcm/send/abc:def",
            &p256dh,
            &auth,
        );
        let parsed = WebPushSubscription::from_json(&raw).unwrap();
        assert_eq!(parsed.audience(), "https://fcm.googleapis.com");
        assert_eq!(parsed.p256dh().len(), 65);
        assert_eq!(parsed.auth(), [9u8; 16]);
        assert_eq!(
            WebPushSubscription::from_json(&parsed.to_json()),
            Ok(parsed)
        );
        // Firefox omits expirationTime when it has none.
        let without = json!({"endpoint": "https://updates.push.services.mozilla.com/wpush/v2/x",
            "keys": {"p256dh": p256dh, "auth": auth}});
        assert!(WebPushSubscription::from_json(&without.to_string()).is_ok());
    }

    #[test]
    fn a_subscription_that_could_misdirect_or_break_encryption_is_refused() {
        let (p256dh, auth) = browser_keys();
        let path = |endpoint: &str, p256dh: &str, auth: &str| {
            WebPushSubscription::from_json(&subscription(endpoint, p256dh, auth))
                .unwrap_err()
                .path
        };
        let ok = "https://push.example.com/x";
        for endpoint in [
            "http://push.example.com/x",
            "https://10.0.0.1/x",
            "https://[::1]/x",
            "https://user:pw@push.example.com/x",
            "https://push.example.com/x#frag",
            "/relative",
            &format!("https://push.example.com/{}", "a".repeat(2048)),
        ] {
            assert_eq!(
                path(endpoint, &p256dh, &auth),
                "token.endpoint",
                "{endpoint}"
            );
        }
        assert_eq!(path(ok, &auth, &auth), "token.keys.p256dh");
        let off_curve = URL_SAFE_NO_PAD.encode([[4u8].as_slice(), &[1u8; 64]].concat());
        assert_eq!(path(ok, &off_curve, &auth), "token.keys.p256dh");
        assert_eq!(path(ok, &p256dh, &p256dh), "token.keys.auth");
        let extra =
            json!({"endpoint": ok, "keys": {"p256dh": p256dh, "auth": auth}, "role": "admin"});
        let err = WebPushSubscription::from_json(&extra.to_string()).unwrap_err();
        assert_eq!(err.path, "token");
    }
}
