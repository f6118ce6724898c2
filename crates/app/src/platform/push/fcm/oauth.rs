//! OAuth 2.0 access tokens for FCM from a service account: the JWT-bearer grant (RFC 7523),
//! an RS256 assertion signed with the account's key, exchanged at the token endpoint. A token
//! is reused until shortly before it expires.

use std::time::Duration;

use http::{StatusCode, header};
use jsonwebtoken::{Algorithm, Header};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::platform::config::FcmConfig;
use crate::platform::push::credentials::ServiceAccount;
use crate::platform::push::http::{MAX_ERROR_BODY, excerpt, read_capped};
use crate::platform::push::{PushError, PushService};

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME: i64 = 3600;
/// A token is replaced this long before it expires, so none expires in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

pub(super) struct AccessTokens {
    account: ServiceAccount,
    token_url: String,
    /// Held across a fetch: concurrent sends wait for one fetch instead of each starting one.
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct Refused {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl AccessTokens {
    pub(super) fn new(config: &FcmConfig) -> Self {
        Self {
            account: config.account.clone(),
            token_url: config.token_url.clone(),
            cached: Mutex::new(None),
        }
    }

    /// A token valid for a while yet: the cached one, or a new one.
    pub(super) async fn get(&self, client: &reqwest::Client) -> Result<SecretString, PushError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref()
            && Instant::now() < current.refresh_at
        {
            return Ok(current.token.clone());
        }
        let fresh = self.fetch(client).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// FCM refused the token (revoked, or the clock was off): the next send fetches another.
    pub(super) async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<Cached, PushError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.account.client_email,
            scope: SCOPE,
            aud: &self.token_url,
            iat: now,
            exp: now + ASSERTION_LIFETIME,
        };
        let mut jwt_header = Header::new(Algorithm::RS256);
        jwt_header.kid = self.account.private_key_id.clone();
        // An RSA signature takes about a millisecond, once an hour: not worth the blocking pool.
        let assertion = jsonwebtoken::encode(&jwt_header, &claims, &self.account.signing_key)
            .map_err(|err| PushError::Permanent(format!("cannot sign the FCM assertion: {err}")))?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", &assertion)
            .finish();
        let requested_at = Instant::now();
        let response = client
            .post(&self.token_url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|err| PushError::from_transport(PushService::Fcm, err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_ERROR_BODY).await;
        if status == StatusCode::OK
            && let Ok(granted) = serde_json::from_slice::<Granted>(&body)
        {
            let lifetime = Duration::from_secs(granted.expires_in);
            return Ok(Cached {
                token: granted.access_token.into(),
                refresh_at: refresh_at(requested_at, lifetime),
            });
        }
        if status.is_success() {
            return Err(PushError::retry(
                "the FCM token endpoint answered without an access token",
            ));
        }
        let refused: Refused = serde_json::from_slice(&body).unwrap_or_default();
        let detail = if refused.error.is_empty() {
            excerpt(&body)
        } else {
            format!("{}: {}", refused.error, refused.error_description)
        };
        let detail = format!("the token endpoint refused the service account: {detail}");
        Err(PushError::from_status(
            PushService::Fcm,
            status,
            &headers,
            &detail,
        ))
    }
}

/// When to replace a token granted at `granted_at` for `lifetime`: `REFRESH_MARGIN` before it
/// expires, or half-way for a short-lived one.
fn refresh_at(granted_at: Instant, lifetime: Duration) -> Instant {
    granted_at + lifetime - REFRESH_MARGIN.min(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_replaced_shortly_before_it_expires() {
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        assert_eq!(refresh_at(now, hour), now + Duration::from_secs(3300));
        let minute = Duration::from_secs(60);
        assert_eq!(refresh_at(now, minute), now + Duration::from_secs(30));
        assert_eq!(refresh_at(now, Duration::ZERO), now);
    }
}
