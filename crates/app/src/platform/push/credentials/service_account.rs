//! A Google service account key (the JSON file Firebase lets you download), reduced to what
//! the OAuth 2.0 JWT-bearer grant needs.

use jsonwebtoken::EncodingKey;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::DecodePrivateKey as _;
use serde::Deserialize;

/// Google's token endpoint, used when the file names none.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

#[derive(Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    /// Sent as the assertion's `kid`, so Google picks the right public key at once.
    pub private_key_id: Option<String>,
    /// The file's `token_uri`.
    pub token_uri: String,
    pub signing_key: EncodingKey,
}

/// Google's format: unknown fields are expected (it adds some now and then).
#[derive(Deserialize)]
struct File {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: String,
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Parses the JSON and the key, so that a broken file stops the start-up instead of
    /// failing every notification.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let file: File = serde_json::from_str(json)
            .map_err(|err| format!("is not a service account key file: {err}"))?;
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(format!(
                "has type {kind:?}: download a key of a service account (Firebase console, \
                 Project settings, Service accounts, Generate new private key)"
            ));
        }
        for (field, value) in [
            ("project_id", &file.project_id),
            ("client_email", &file.client_email),
        ] {
            if value.trim().is_empty() {
                return Err(format!("has an empty {field}"));
            }
        }
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&file.private_key)
            .map_err(|err| format!("has a private_key that is not an RSA key in PEM: {err}"))?;
        // The signer takes PKCS#1.
        let der = key
            .to_pkcs1_der()
            .map_err(|err| format!("has a private_key that cannot be re-encoded: {err}"))?;
        let signing_key = EncodingKey::from_rsa_der(der.as_bytes());
        Ok(Self {
            project_id: file.project_id.trim().to_owned(),
            client_email: file.client_email.trim().to_owned(),
            private_key_id: file.private_key_id.filter(|id| !id.trim().is_empty()),
            token_uri: file
                .token_uri
                .filter(|uri| !uri.trim().is_empty())
                .unwrap_or_else(|| GOOGLE_TOKEN_URL.to_owned()),
            signing_key,
        })
    }
}
