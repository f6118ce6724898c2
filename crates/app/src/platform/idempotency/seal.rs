//! Stored responses are sealed (ChaCha20-Poly1305) with a key derived from the server secret:
//! they can hold tokens and personal data, and the database is not where secrets rest. The
//! scope and key are the associated data, so a sealed response copied onto another user's key
//! (or another key) fails to open instead of replaying there.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::Rng as _;

const PREFIX: &str = "sealed:";

fn associated_data(scope: &str, key: &str) -> Vec<u8> {
    format!("idempotency\n{scope}\n{key}").into_bytes()
}

pub fn seal(secret: &[u8; 32], scope: &str, key: &str, plaintext: &[u8]) -> anyhow::Result<String> {
    let cipher = ChaCha20Poly1305::new(secret.into());
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let aad = associated_data(scope, key);
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| anyhow::anyhow!("encrypting a stored response failed"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
}

/// The plaintext of a stored body. `None` when it was sealed for another scope or key, with
/// another secret, or altered. A body without the prefix predates sealing (kept at most 24 h
/// by the retention) and is returned as it is.
pub fn open(secret: &[u8; 32], scope: &str, key: &str, stored: &str) -> Option<Vec<u8>> {
    let Some(encoded) = stored.strip_prefix(PREFIX) else {
        return Some(stored.as_bytes().to_vec());
    };
    let bytes = STANDARD.decode(encoded).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let aad = associated_data(scope, key);
    ChaCha20Poly1305::new(secret.into())
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_responses_open_only_for_their_own_scope_and_key() {
        let secret = [7u8; 32];
        let body = b"{\"refreshToken\":\"secret\"}";
        let sealed = seal(&secret, "user-a", "k1", body).unwrap_or_default();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            open(&secret, "user-a", "k1", &sealed).as_deref(),
            Some(&body[..])
        );
        assert_eq!(open(&[8u8; 32], "user-a", "k1", &sealed), None);
        assert_eq!(open(&secret, "user-b", "k1", &sealed), None);
        assert_eq!(open(&secret, "user-a", "k2", &sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert_eq!(open(&secret, "user-a", "k1", &tampered), None);
    }
}
