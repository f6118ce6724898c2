//! Firebase Cloud Messaging, HTTP v1 API: `POST {api}/v1/projects/{project}/messages:send`
//! with an OAuth access token of the service account.

mod oauth;

use http::StatusCode;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{MAX_ERROR_BODY, Transport, excerpt, read_capped};
use super::{DeviceToken, PushError, PushMessage, PushProvider, PushService, Urgency};
use crate::platform::config::{FcmConfig, PushConfig};
use oauth::AccessTokens;

/// FCM's limit on `collapse_key`-like values is generous; this keeps them readable.
const MAX_COLLAPSE_KEY_LEN: usize = 64;

pub struct Fcm {
    client: reqwest::Client,
    tokens: AccessTokens,
    send_url: String,
}

/// FCM's error body: `{"error": {"code", "message", "status", "details": [...]}}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorStatus,
}

#[derive(Deserialize, Default)]
struct ErrorStatus {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl ErrorStatus {
    /// The FCM-specific code (`UNREGISTERED`...) when there is one, else the RPC status.
    fn code(&self) -> &str {
        self.details
            .iter()
            .find_map(|detail| detail.get("errorCode").and_then(Value::as_str))
            .unwrap_or(&self.status)
    }

    /// Whether a `BadRequest` detail blames the token, or the message says it does.
    fn blames_the_token(&self) -> bool {
        let field_is_token = self.details.iter().any(|detail| {
            detail
                .get("fieldViolations")
                .and_then(Value::as_array)
                .is_some_and(|violations| {
                    violations.iter().any(|violation| {
                        violation.get("field").and_then(Value::as_str) == Some("message.token")
                    })
                })
        });
        field_is_token || self.message.contains("registration token")
    }
}

impl Fcm {
    pub fn new(config: &FcmConfig, push: &PushConfig) -> anyhow::Result<Self> {
        Ok(Self {
            client: super::http::client(push, Transport::Any)?,
            tokens: AccessTokens::new(config),
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                config.api_url, config.account.project_id
            ),
        })
    }

    fn body(token: &str, message: &PushMessage) -> Value {
        let (android, apns) = match message.urgency {
            Urgency::High => ("HIGH", "10"),
            Urgency::Normal => ("NORMAL", "5"),
        };
        let mut android =
            json!({"priority": android, "ttl": format!("{}s", message.ttl.as_secs())});
        let mut apns_headers = json!({"apns-priority": apns});
        if let Some(key) = message.collapse_key_within(MAX_COLLAPSE_KEY_LEN) {
            android["collapse_key"] = json!(key);
            apns_headers["apns-collapse-id"] = json!(key);
        }
        json!({"message": {
            "token": token,
            "notification": {"title": message.title, "body": message.body},
            "data": message.data,
            "android": android,
            "apns": {"headers": apns_headers},
        }})
    }
}

#[async_trait::async_trait]
impl PushProvider for Fcm {
    async fn send(&self, target: &DeviceToken, message: &PushMessage) -> Result<(), PushError> {
        let DeviceToken::Fcm(token) = target else {
            return Err(PushError::Permanent("not an FCM token".to_owned()));
        };
        let access = self.tokens.get(&self.client).await?;
        let response = self
            .client
            .post(&self.send_url)
            .bearer_auth(access.expose_secret())
            .json(&Self::body(token.as_str(), message))
            .send()
            .await
            .map_err(|err| PushError::from_transport(PushService::Fcm, err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_ERROR_BODY).await;
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .unwrap_or_default()
            .error;
        let detail = if error.message.is_empty() {
            excerpt(&body)
        } else {
            format!("{}: {}", error.code(), error.message)
        };
        Err(match error.code() {
            "UNREGISTERED" => PushError::Gone,
            "INVALID_ARGUMENT" if error.blames_the_token() => PushError::Gone,
            // Firebase could not use the app's APNs credentials: a console setting, not ours.
            "THIRD_PARTY_AUTH_ERROR" => PushError::Permanent(format!("fcm: {detail}")),
            _ if status == StatusCode::UNAUTHORIZED => {
                self.tokens.forget().await;
                PushError::retry(format!("fcm refused the access token: {detail}"))
            }
            _ => PushError::from_status(PushService::Fcm, status, &headers, &detail),
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    fn status(body: Value) -> ErrorStatus {
        serde_json::from_value::<ErrorBody>(body).unwrap().error
    }

    #[test]
    fn fcm_errors_are_read_from_their_details() {
        let unregistered = status(json!({"error": {"code": 404, "status": "NOT_FOUND",
            "message": "Requested entity was not found.",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                         "errorCode": "UNREGISTERED"}]}}));
        assert_eq!(unregistered.code(), "UNREGISTERED");
        let bad_token = status(json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid value at 'message.token'",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "fieldViolations": [{"field": "message.token"}]}]}}));
        assert!(bad_token.code() == "INVALID_ARGUMENT" && bad_token.blames_the_token());
        let bad_data = status(json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid data payload key: from",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "fieldViolations": [{"field": "message.data"}]}]}}));
        assert!(!bad_data.blames_the_token());
    }
}
