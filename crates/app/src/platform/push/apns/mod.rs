//! Apple Push Notification service, token-based: `POST {host}/3/device/{token}` over HTTP/2
//! with a provider token, to the production or sandbox host.

mod provider_token;

use http::{StatusCode, header};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{MAX_ERROR_BODY, Transport, read_capped};
use super::{DeviceToken, PushError, PushMessage, PushProvider, PushService, Urgency};
use crate::platform::config::{ApnsConfig, PushConfig};
use provider_token::ProviderTokens;

/// APNs refuses larger payloads (413); checked first to fail without a round trip.
const MAX_PAYLOAD: usize = 4096;
/// `apns-collapse-id` may be at most 64 bytes.
const MAX_COLLAPSE_ID_LEN: usize = 64;

pub struct Apns {
    client: reqwest::Client,
    tokens: ProviderTokens,
    topic: String,
    base_url: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    reason: String,
}

impl Apns {
    pub fn new(config: &ApnsConfig, push: &PushConfig) -> anyhow::Result<Self> {
        Ok(Self {
            client: super::http::client(push, Transport::Http2Only)?,
            tokens: ProviderTokens::new(config),
            topic: config.topic.clone(),
            base_url: config.url.clone(),
        })
    }

    /// `{"aps": {"alert": {title, body}}}` with the data as custom keys beside `aps`.
    fn payload(message: &PushMessage) -> Result<Vec<u8>, PushError> {
        if message.data.contains_key("aps") {
            return Err(PushError::Permanent(
                "apns: the data key \"aps\" is reserved by Apple".to_owned(),
            ));
        }
        let mut payload: Map<String, Value> = message
            .data
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        payload.insert(
            "aps".to_owned(),
            json!({"alert": {"title": message.title, "body": message.body}}),
        );
        let bytes = serde_json::to_vec(&payload)
            .map_err(|err| PushError::Permanent(format!("apns: cannot encode: {err}")))?;
        if bytes.len() > MAX_PAYLOAD {
            return Err(PushError::Permanent(format!(
                "apns: the payload is {} bytes; at most {MAX_PAYLOAD} are accepted",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

#[async_trait::async_trait]
impl PushProvider for Apns {
    async fn send(&self, target: &DeviceToken, message: &PushMessage) -> Result<(), PushError> {
        let DeviceToken::Apns(token) = target else {
            return Err(PushError::Permanent("not an APNs device token".to_owned()));
        };
        let payload = Self::payload(message)?;
        let priority = match message.urgency {
            Urgency::High => "10",
            Urgency::Normal => "5",
        };
        // 0 asks APNs to try once and not store the notification.
        let expiration = match message.ttl.as_secs() {
            0 => 0,
            ttl => chrono::Utc::now().timestamp() + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
        };
        let jwt = self.tokens.get()?;
        let mut request = self
            .client
            .post(format!("{}/3/device/{}", self.base_url, token.as_str()))
            .header(
                header::AUTHORIZATION,
                format!("bearer {}", jwt.expose_secret()),
            )
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", priority)
            .header("apns-expiration", expiration.to_string())
            .header(header::CONTENT_TYPE, "application/json")
            .body(payload);
        if let Some(id) = message.collapse_key_within(MAX_COLLAPSE_ID_LEN) {
            request = request.header("apns-collapse-id", id);
        }
        let response = request
            .send()
            .await
            .map_err(|err| PushError::from_transport(PushService::Apns, err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_ERROR_BODY).await;
        let reason = serde_json::from_slice::<ErrorBody>(&body)
            .unwrap_or_default()
            .reason;
        Err(match (status, reason.as_str()) {
            // 410: the token stopped being valid (the app was removed); 400 BadDeviceToken:
            // it never was one for this environment.
            (StatusCode::GONE, _) | (StatusCode::BAD_REQUEST, "BadDeviceToken") => PushError::Gone,
            (StatusCode::FORBIDDEN, "ExpiredProviderToken") => {
                self.tokens.forget();
                PushError::retry("apns: the provider token expired; a new one is signed")
            }
            _ => PushError::from_status(PushService::Apns, status, &headers, &reason),
        })
    }
}
