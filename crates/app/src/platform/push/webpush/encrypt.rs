//! Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188):
//! a fresh ECDH key pair and salt per message, one record.
//!
//! ring does the ECDH (its ephemeral keys are exactly this use) and AES-128-GCM; the hkdf
//! crate does HKDF-SHA-256, whose ring interface is awkward for raw output. All of it takes
//! microseconds on at most 4 KiB, so it runs inline rather than on the blocking pool.

use hkdf::Hkdf;
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::Sha256;

/// The record size written in the header. The message is one record, so it must fit.
const RECORD_SIZE: u32 = 4096;
/// salt (16) + record size (4) + key id length (1) + key id: the sender's public key (65).
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
/// Push services take bodies of up to 4096 bytes: the header, then the plaintext with its
/// one-byte delimiter and the 16-byte tag.
pub const MAX_PLAINTEXT: usize = 4096 - HEADER_LEN - 1 - 16;
/// Ends the last (here: only) record.
const LAST_RECORD: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    #[error("the payload is {0} bytes; at most {MAX_PLAINTEXT} fit in a Web Push message")]
    TooLarge(usize),
    #[error("the subscription's p256dh key does not work for key agreement")]
    BadKey,
    #[error("the system's random source failed")]
    Random,
}

/// The body of a Web Push request: `aes128gcm` header and ciphertext, for the browser whose
/// subscription holds `ua_public` (p256dh) and `auth_secret`.
pub fn encrypt(
    ua_public: &[u8],
    auth_secret: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLarge(plaintext.len()));
    }
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| EncryptError::Random)?;
    let ephemeral =
        EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| EncryptError::Random)?;
    let as_public = ephemeral
        .compute_public_key()
        .map_err(|_| EncryptError::Random)?;
    let peer = UnparsedPublicKey::new(&ECDH_P256, ua_public);
    let ecdh_secret = agreement::agree_ephemeral(ephemeral, &peer, |shared| shared.to_vec())
        .map_err(|_| EncryptError::BadKey)?;
    seal(
        &ecdh_secret,
        ua_public,
        as_public.as_ref(),
        auth_secret,
        &salt,
        plaintext,
    )
}

/// The deterministic rest of RFC 8291 section 3.4, given the shared secret: what the RFC's
/// worked example pins down.
fn seal(
    ecdh_secret: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    auth_secret: &[u8],
    salt: &[u8; 16],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    let key_info = [b"WebPush: info\0".as_slice(), ua_public, as_public].concat();
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth_secret), ecdh_secret)
        .expand(&key_info, &mut ikm)
        .map_err(|_| EncryptError::BadKey)?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .and_then(|()| prk.expand(b"Content-Encoding: nonce\0", &mut nonce))
        .map_err(|_| EncryptError::BadKey)?;

    let mut record = Vec::with_capacity(plaintext.len() + 1 + AES_128_GCM.tag_len());
    record.extend_from_slice(plaintext);
    record.push(LAST_RECORD);
    let key = UnboundKey::new(&AES_128_GCM, &cek).map_err(|_| EncryptError::BadKey)?;
    // The nonce is derived from a fresh salt, so each key seals exactly one record.
    LessSafeKey::new(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut record,
        )
        .map_err(|_| EncryptError::BadKey)?;

    let key_id_len = u8::try_from(as_public.len()).map_err(|_| EncryptError::BadKey)?;
    let mut body = Vec::with_capacity(HEADER_LEN + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(key_id_len);
    body.extend_from_slice(as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// RFC 8291 section 5 and appendix A: fixed keys and salt give this exact message.
    #[test]
    fn the_rfc_8291_example_encrypts_byte_for_byte() {
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let as_public = b64(
            "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
        );
        let ecdh_secret = b64("kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs");
        let auth_secret = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = seal(
            &ecdh_secret,
            &ua_public,
            &as_public,
            &auth_secret,
            &salt,
            b"When I grow up, I want to be a watermelon",
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLoc\
             InmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLV\
             WGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn a_payload_that_cannot_fit_or_a_bad_key_is_refused() {
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = [1u8; 16];
        let body = encrypt(&ua_public, &auth, &[b'x'; MAX_PLAINTEXT]).unwrap();
        assert_eq!(body.len(), 4096);
        assert_eq!(
            encrypt(&ua_public, &auth, &[b'x'; MAX_PLAINTEXT + 1]),
            Err(EncryptError::TooLarge(MAX_PLAINTEXT + 1))
        );
        assert_eq!(encrypt(&[4u8; 65], &auth, b"hi"), Err(EncryptError::BadKey));
        // Two messages never share a salt or a key.
        let (a, b) = (
            encrypt(&ua_public, &auth, b"hi").unwrap(),
            encrypt(&ua_public, &auth, b"hi").unwrap(),
        );
        assert_ne!(a[..86], b[..86]);
    }
}
