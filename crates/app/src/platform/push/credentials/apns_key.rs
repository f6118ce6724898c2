//! An Apple Push Notifications auth key: the `.p8` file (a PKCS#8 P-256 private key in PEM)
//! that signs the ES256 provider tokens of token-based APNs authentication.

use jsonwebtoken::EncodingKey;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};

#[derive(Clone)]
pub struct ApnsKey {
    pub signing_key: EncodingKey,
}

impl ApnsKey {
    /// Parses the PEM, so that a wrong file stops the start-up.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        // Pasted into one line of `.env`, the line breaks often arrive as `\n`.
        let pem = pem.trim().replace("\\n", "\n");
        if !pem.contains("-----BEGIN PRIVATE KEY-----") {
            return Err("is not a .p8 key: expected -----BEGIN PRIVATE KEY-----".to_owned());
        }
        let key = p256::SecretKey::from_pkcs8_pem(&pem)
            .map_err(|err| format!("is not a P-256 private key: {err}"))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|err| format!("cannot be re-encoded: {err}"))?;
        Ok(Self {
            signing_key: EncodingKey::from_ec_der(der.as_bytes()),
        })
    }
}

/// Apple's ten-character identifiers (key id, team id).
pub fn is_apple_id(value: &str) -> bool {
    value.len() == 10
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
