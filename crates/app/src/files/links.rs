//! Links that need no token: on S3 a presigned URL of the store; on local disk a link to this
//! server (`/api/files/signed/{token}`) whose token names the file, what of it (the original
//! or the thumbnail) and until when, under an HMAC keyed from the server secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use entity::FileId;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::error::FileError;
use super::filename::content_disposition;
use super::repo::File;
use crate::platform::clock;
use crate::platform::storage::Presign;
use crate::state::AppState;

/// The route the local links point at.
pub const SIGNED_ROUTE: &str = "/api/files/signed";

const VERSION: u8 = 1;
/// version, file id, variant, expiry (seconds since the epoch, big-endian).
const PAYLOAD_LEN: usize = 1 + 16 + 1 + 8;
const TAG_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
}

impl Variant {
    fn byte(self) -> u8 {
        match self {
            Self::Original => 0,
            Self::Thumbnail => 1,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Original),
            1 => Some(Self::Thumbnail),
            _ => None,
        }
    }
}

/// What a valid token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub file_id: FileId,
    pub variant: Variant,
    pub expires_at: i64,
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

pub fn sign(key: &[u8; 32], grant: Grant) -> String {
    let mut token = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
    token.push(VERSION);
    token.extend_from_slice(grant.file_id.into_uuid().as_bytes());
    token.push(grant.variant.byte());
    token.extend_from_slice(&grant.expires_at.to_be_bytes());
    let mut mac = mac(key);
    mac.update(&token);
    token.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(token)
}

/// The grant of `token` if it is ours, untouched and not expired at `now`.
pub fn verify(key: &[u8; 32], token: &str, now: DateTime<Utc>) -> Result<Grant, FileError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| FileError::BadLink)?;
    if bytes.len() != PAYLOAD_LEN + TAG_LEN || bytes[0] != VERSION {
        return Err(FileError::BadLink);
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
    let mut mac = mac(key);
    mac.update(payload);
    // Constant-time: the comparison says nothing about how much of a forged tag was right.
    mac.verify_slice(tag).map_err(|_| FileError::BadLink)?;
    let id = uuid::Uuid::from_slice(&payload[1..17]).map_err(|_| FileError::BadLink)?;
    let variant = Variant::from_byte(payload[17]).ok_or(FileError::BadLink)?;
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&payload[18..26]);
    let expires_at = i64::from_be_bytes(expiry);
    if now.timestamp() >= expires_at {
        return Err(FileError::BadLink);
    }
    Ok(Grant {
        file_id: FileId::from(id),
        variant,
        expires_at,
    })
}

/// A link to `variant` of `file` for whoever holds it, valid for `FILE_URL_TTL`; `base` is where
/// clients reach this server. `None` for a thumbnail the file does not have.
pub async fn link(
    app: &AppState,
    base: &str,
    file: &File,
    variant: Variant,
) -> Result<Option<(String, DateTime<Utc>)>, FileError> {
    let (key, content_type) = match variant {
        Variant::Original => (file.storage_key.as_str(), file.content_type.as_str()),
        Variant::Thumbnail => match (&file.thumbnail_key, &file.thumbnail_type) {
            (Some(key), Some(content_type)) => (key.as_str(), content_type.as_str()),
            _ => return Ok(None),
        },
    };
    let ttl = app.config.files.url_ttl;
    let now = clock::now();
    let expires_at = DateTime::<Utc>::from_timestamp(now.timestamp(), 0).unwrap_or(now)
        + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(15));
    if app.storage.serves_links_itself() {
        let token = sign(
            &app.file_link_key,
            Grant {
                file_id: file.id,
                variant,
                expires_at: expires_at.timestamp(),
            },
        );
        return Ok(Some((format!("{base}{SIGNED_ROUTE}/{token}"), expires_at)));
    }
    let disposition = match variant {
        Variant::Original => content_disposition(&file.filename),
        Variant::Thumbnail => content_disposition(&format!("thumbnail-{}", file.filename)),
    };
    let presign = Presign {
        content_type,
        content_disposition: &disposition,
    };
    let url = app.storage.presign(key, ttl, presign).await?;
    Ok(url.map(|url| (url, expires_at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_at: i64) -> Grant {
        Grant {
            file_id: FileId::new(),
            variant: Variant::Thumbnail,
            expires_at,
        }
    }

    #[test]
    fn a_signed_token_round_trips_until_it_expires() {
        let key = [7u8; 32];
        let now = clock::now();
        let granted = grant(now.timestamp() + 60);
        let token = sign(&key, granted);
        assert_eq!(verify(&key, &token, now).ok(), Some(granted));
        let later = now + TimeDelta::seconds(61);
        assert!(verify(&key, &token, later).is_err());
        assert!(verify(&[8u8; 32], &token, now).is_err());
    }

    #[test]
    fn any_changed_byte_breaks_the_token() {
        let key = [7u8; 32];
        let now = clock::now();
        let token = sign(&key, grant(now.timestamp() + 60));
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
        for at in 0..bytes.len() {
            let mut forged = bytes.clone();
            forged[at] ^= 1;
            assert!(
                verify(&key, &URL_SAFE_NO_PAD.encode(&forged), now).is_err(),
                "{at}"
            );
        }
        assert!(verify(&key, "", now).is_err());
        assert!(verify(&key, "not base64!", now).is_err());
        assert!(verify(&key, &token[..token.len() - 2], now).is_err());
    }
}
