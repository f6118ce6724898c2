//! Web Push: the message encrypted for the browser (RFC 8291), POSTed to the push service
//! named by its subscription with a VAPID token (RFC 8292).
//!
//! The service worker receives `{"title", "body", "data"}` as JSON (`event.data.json()`).

mod encrypt;
mod subscription;

use std::time::Duration;

use http::{StatusCode, header};
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use super::http::{MAX_ERROR_BODY, Transport, excerpt, read_capped};
use super::{DeviceToken, PushError, PushMessage, PushProvider, PushService, Urgency};
use crate::platform::config::{PushConfig, WebPushConfig};
use crate::platform::push::credentials::VapidKeys;

pub use encrypt::{EncryptError, MAX_PLAINTEXT, encrypt};
pub use subscription::WebPushSubscription;

/// RFC 8292 allows up to 24 hours; half leaves room for clock skew.
const VAPID_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// RFC 8030's `Topic`: at most 32 characters of the URL-safe base64 alphabet.
const MAX_TOPIC_LEN: usize = 32;

pub struct WebPush {
    client: reqwest::Client,
    keys: VapidKeys,
    subject: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

#[derive(Serialize)]
struct Payload<'a> {
    title: &'a str,
    body: &'a str,
    data: &'a std::collections::BTreeMap<String, String>,
}

impl WebPush {
    pub fn new(config: &WebPushConfig, push: &PushConfig) -> anyhow::Result<Self> {
        Ok(Self {
            client: super::http::client(push, Transport::HttpsOnly)?,
            keys: config.keys.clone(),
            subject: config.subject.clone(),
        })
    }

    /// `Authorization: vapid t=<JWT>, k=<public key>` for the push service at `audience`.
    /// Signing costs microseconds, so each message signs its own.
    fn authorization(&self, audience: &str) -> Result<String, PushError> {
        let lifetime = i64::try_from(VAPID_LIFETIME.as_secs()).unwrap_or(43_200);
        let claims = Claims {
            aud: audience,
            exp: chrono::Utc::now().timestamp() + lifetime,
            sub: &self.subject,
        };
        let jwt = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &claims,
            self.keys.signing_key(),
        )
        .map_err(|err| PushError::Permanent(format!("cannot sign the VAPID token: {err}")))?;
        Ok(format!("vapid t={jwt}, k={}", self.keys.public_key()))
    }
}

#[async_trait::async_trait]
impl PushProvider for WebPush {
    async fn send(&self, target: &DeviceToken, message: &PushMessage) -> Result<(), PushError> {
        let DeviceToken::WebPush(subscription) = target else {
            return Err(PushError::Permanent(
                "not a Web Push subscription".to_owned(),
            ));
        };
        let payload = serde_json::to_vec(&Payload {
            title: &message.title,
            body: &message.body,
            data: &message.data,
        })
        .map_err(|err| PushError::Permanent(format!("cannot encode the payload: {err}")))?;
        let body = encrypt(subscription.p256dh(), subscription.auth(), &payload)
            .map_err(|err| PushError::Permanent(err.to_string()))?;
        let urgency = match message.urgency {
            Urgency::High => "high",
            Urgency::Normal => "normal",
        };
        let mut request = self
            .client
            .post(subscription.endpoint().clone())
            .header(
                header::AUTHORIZATION,
                self.authorization(&subscription.audience())?,
            )
            .header("TTL", message.ttl.as_secs().to_string())
            .header("Urgency", urgency)
            .header(header::CONTENT_ENCODING, "aes128gcm")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some(topic) = message.collapse_key_within(MAX_TOPIC_LEN) {
            request = request.header("Topic", topic);
        }
        let response = request
            .send()
            .await
            .map_err(|err| PushError::from_transport(PushService::WebPush, err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let detail = excerpt(&read_capped(response, MAX_ERROR_BODY).await);
        Err(match status {
            // RFC 8030: the subscription expired or was unsubscribed.
            StatusCode::NOT_FOUND | StatusCode::GONE => PushError::Gone,
            _ => PushError::from_status(PushService::WebPush, status, &headers, &detail),
        })
    }
}
