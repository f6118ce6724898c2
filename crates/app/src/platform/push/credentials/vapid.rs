//! VAPID application server keys (RFC 8292): one P-256 key pair, each half as unpadded
//! base64url, the form browsers take as `applicationServerKey` and web-push tools print.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use p256::{PublicKey, SecretKey};
use rand::Rng as _;
use secrecy::SecretString;

/// Which half of the pair is wrong, so that configuration can name the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VapidKeyError {
    #[error("is not a P-256 private key (32 bytes, base64url): {0}")]
    Private(&'static str),
    #[error("is not a P-256 public key (65 bytes uncompressed, base64url): {0}")]
    Public(&'static str),
    #[error("does not belong to VAPID_PRIVATE_KEY")]
    Mismatch,
}

#[derive(Clone)]
pub struct VapidKeys {
    secret: SecretKey,
    /// PKCS#8 DER of `secret`, the form the JWT signer takes.
    signing_key: EncodingKey,
    /// The uncompressed public point, unpadded base64url: the `k=` of the Authorization header.
    public_key: String,
}

impl VapidKeys {
    /// Parses the pair and checks that the public key is the private key's: a mismatch would
    /// make every push service refuse every message.
    pub fn from_base64url(public: &str, private: &str) -> Result<Self, VapidKeyError> {
        let private = decode_base64url(private).ok_or(VapidKeyError::Private("not base64url"))?;
        if private.len() != 32 {
            return Err(VapidKeyError::Private("not 32 bytes long"));
        }
        let secret = SecretKey::from_slice(&private)
            .map_err(|_| VapidKeyError::Private("out of the curve's range"))?;
        let given = decode_base64url(public).ok_or(VapidKeyError::Public("not base64url"))?;
        if given.len() != 65 || given.first() != Some(&4) {
            return Err(VapidKeyError::Public("not 65 bytes starting with 0x04"));
        }
        PublicKey::from_sec1_bytes(&given)
            .map_err(|_| VapidKeyError::Public("not a point on the curve"))?;
        let keys = Self::from_secret(secret).map_err(VapidKeyError::Private)?;
        if keys.public_key != URL_SAFE_NO_PAD.encode(&given) {
            return Err(VapidKeyError::Mismatch);
        }
        Ok(keys)
    }

    /// A new random key pair (`aios-server push vapid-keys`).
    pub fn generate() -> Self {
        loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // Fails only for zero or a value past the group order: about 2^-128 of draws.
            if let Ok(secret) = SecretKey::from_slice(&bytes)
                && let Ok(keys) = Self::from_secret(secret)
            {
                return keys;
            }
        }
    }

    fn from_secret(secret: SecretKey) -> Result<Self, &'static str> {
        let der = secret
            .to_pkcs8_der()
            .map_err(|_| "cannot be encoded as PKCS#8")?;
        let public = secret.public_key().to_encoded_point(false);
        Ok(Self {
            signing_key: EncodingKey::from_ec_der(der.as_bytes()),
            public_key: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            secret,
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The private half, for printing a newly generated pair once.
    pub fn private_key(&self) -> SecretString {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes()).into()
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing_key
    }
}

/// Unpadded base64url, as the Push API produces; padded input (some tools add `=`) is
/// accepted too.
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn a_generated_pair_parses_back_and_a_foreign_public_key_is_refused() {
        let keys = VapidKeys::generate();
        let private = keys.private_key();
        let parsed = VapidKeys::from_base64url(keys.public_key(), private.expose_secret());
        assert_eq!(parsed.map(|k| k.public_key), Ok(keys.public_key.clone()));

        let other = VapidKeys::generate();
        assert_eq!(
            VapidKeys::from_base64url(other.public_key(), private.expose_secret()).err(),
            Some(VapidKeyError::Mismatch)
        );
    }

    #[test]
    fn malformed_halves_name_the_half_that_is_wrong() {
        let keys = VapidKeys::generate();
        let private = keys.private_key();
        let private = private.expose_secret();
        assert!(matches!(
            VapidKeys::from_base64url(keys.public_key(), "c2hvcnQ"),
            Err(VapidKeyError::Private(_))
        ));
        assert!(matches!(
            VapidKeys::from_base64url("not base64!", private),
            Err(VapidKeyError::Public(_))
        ));
        // The right length but not on the curve.
        let off_curve = URL_SAFE_NO_PAD.encode([[4u8].as_slice(), &[1u8; 64]].concat());
        assert!(matches!(
            VapidKeys::from_base64url(&off_curve, private),
            Err(VapidKeyError::Public(_))
        ));
        // Padding is tolerated.
        let padded = format!("{private}=");
        assert!(VapidKeys::from_base64url(keys.public_key(), &padded).is_ok());
    }
}
