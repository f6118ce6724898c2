//! The pair a refresh issued, stored sealed on the refresh token it spent.
//!
//! A retried or concurrent refresh inside the grace window is sent this same pair again, so a
//! session keeps one chain of refresh tokens (ADR 0003). Tokens are never stored readable: the
//! pair is encrypted with ChaCha20-Poly1305 under a key derived from the server secret, and the
//! spent token's id is the associated data, so a sealed pair copied onto another row does not
//! open.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use entity::RefreshTokenId;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "v1:";

/// No `Debug`: it holds live tokens.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Successor {
    pub refresh_token: String,
    pub access_token: String,
    /// The access token's `exp` (Unix seconds).
    pub access_expires_at: i64,
}

/// Seals `successor` for the refresh-token row `token_id`.
pub fn seal(
    key: &[u8; 32],
    token_id: RefreshTokenId,
    successor: &Successor,
) -> anyhow::Result<String> {
    let plaintext = serde_json::to_vec(successor)?;
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = ChaCha20Poly1305::new(key.into())
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: token_id.0.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing a refresh successor failed"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
}

/// Opens what `seal` stored for `token_id`; `None` if it was sealed for another row, under
/// another secret, or altered.
pub fn open(key: &[u8; 32], token_id: RefreshTokenId, stored: &str) -> Option<Successor> {
    let bytes = STANDARD.decode(stored.strip_prefix(PREFIX)?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let plaintext = ChaCha20Poly1305::new(key.into())
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: sealed,
                aad: token_id.0.as_bytes(),
            },
        )
        .ok()?;
    serde_json::from_slice(&plaintext).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Successor {
        Successor {
            refresh_token: "refresh-secret".to_owned(),
            access_token: "access-secret".to_owned(),
            access_expires_at: 1_800_000_000,
        }
    }

    #[test]
    fn a_sealed_pair_opens_only_for_its_row_and_key() {
        let (key, id) = ([7u8; 32], RefreshTokenId::new());
        let sealed = seal(&key, id, &pair()).unwrap_or_default();
        assert!(!sealed.contains("secret"));
        let opened = open(&key, id, &sealed).map(|s| (s.refresh_token, s.access_token));
        assert_eq!(
            opened,
            Some(("refresh-secret".to_owned(), "access-secret".to_owned()))
        );
        assert!(open(&[8u8; 32], id, &sealed).is_none(), "another key");
        assert!(
            open(&key, RefreshTokenId::new(), &sealed).is_none(),
            "another row"
        );
        let mut bytes = STANDARD
            .decode(sealed.trim_start_matches(PREFIX))
            .unwrap_or_default();
        if let Some(byte) = bytes.get_mut(20) {
            *byte ^= 1;
        }
        let altered = format!("{PREFIX}{}", STANDARD.encode(bytes));
        assert!(open(&key, id, &altered).is_none(), "altered");
        assert!(open(&key, id, "garbage").is_none());
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let (key, id) = ([7u8; 32], RefreshTokenId::new());
        assert_ne!(seal(&key, id, &pair()).ok(), seal(&key, id, &pair()).ok());
    }
}
