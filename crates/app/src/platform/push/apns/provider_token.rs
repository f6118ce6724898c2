//! The provider authentication token of token-based APNs: an ES256 JWT naming the key and the
//! team. Apple refuses tokens older than an hour and throttles providers that make new ones
//! more often than every 20 minutes, so one is reused for 50 minutes.

use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::Serialize;
use tokio::time::Instant;

use crate::platform::config::ApnsConfig;
use crate::platform::push::PushError;

const REUSE_FOR: Duration = Duration::from_secs(50 * 60);

pub(super) struct ProviderTokens {
    key: EncodingKey,
    key_id: String,
    team_id: String,
    current: Mutex<Option<Issued>>,
}

#[derive(Clone)]
struct Issued {
    jwt: SecretString,
    at: Instant,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

impl ProviderTokens {
    pub(super) fn new(config: &ApnsConfig) -> Self {
        Self {
            key: config.key.signing_key.clone(),
            key_id: config.key_id.clone(),
            team_id: config.team_id.clone(),
            current: Mutex::new(None),
        }
    }

    /// The current token, or a new one once it is 50 minutes old. Signing is microseconds, so
    /// it happens under the lock and two sends never sign at once.
    pub(super) fn get(&self) -> Result<SecretString, PushError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(issued) = current.as_ref()
            && issued.at.elapsed() < REUSE_FOR
        {
            return Ok(issued.jwt.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: &self.team_id,
            iat: chrono::Utc::now().timestamp(),
        };
        let jwt: SecretString = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|err| PushError::Permanent(format!("cannot sign the APNs token: {err}")))?
            .into();
        *current = Some(Issued {
            jwt: jwt.clone(),
            at: Instant::now(),
        });
        Ok(jwt)
    }

    /// APNs said the token expired (a clock jump): the next send signs a new one.
    pub(super) fn forget(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    #[cfg(test)]
    fn issued_at(&self) -> Option<Instant> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|issued| issued.at)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;
    use crate::platform::push::credentials::ApnsKey;

    fn tokens() -> ProviderTokens {
        let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem();
        ProviderTokens {
            key: ApnsKey::from_pem(&pem).unwrap().signing_key,
            key_id: "ABC123DEFG".to_owned(),
            team_id: "TEAM123456".to_owned(),
            current: Mutex::new(None),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_reused_for_50_minutes_then_replaced() {
        let tokens = tokens();
        let first = tokens.get().unwrap();
        let issued = tokens.issued_at().unwrap();
        tokio::time::advance(Duration::from_secs(49 * 60)).await;
        assert_eq!(tokens.get().unwrap().expose_secret(), first.expose_secret());
        assert_eq!(tokens.issued_at(), Some(issued));
        tokio::time::advance(Duration::from_secs(2 * 60)).await;
        tokens.get().unwrap();
        assert!(
            tokens.issued_at().unwrap() > issued,
            "a new token after 51 minutes"
        );
        let before = tokens.issued_at();
        tokens.forget();
        assert_eq!(tokens.issued_at(), None);
        tokens.get().unwrap();
        assert!(tokens.issued_at() >= before);
    }
}
