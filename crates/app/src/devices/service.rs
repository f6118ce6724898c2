//! The rules of push devices. Other features use the functions at the end: auth ends a
//! session's devices with it, notifications read and prune them, users export them.

use entity::device::Platform;
use entity::{DeviceId, SessionId, UserId};
use sea_orm::{ConnectionTrait, DbErr, SqlErr};
use sha2::{Digest as _, Sha256};

use super::dto::{DeviceDto, DeviceList, RegisterDevice, TokenInput, VapidPublicKey};
use super::error::DeviceError;
use super::repo::{self, Device, NewDevice};
use crate::auth::account;
use crate::platform::error::InvalidInput;
use crate::platform::push::{DeviceToken, PushService};
use crate::platform::{clock, db};
use crate::state::AppState;

/// A user's devices beyond this many (the least recently registered first) are dropped: every
/// notification fans out to each, so their number is bounded.
pub const MAX_DEVICES_PER_USER: usize = 50;

/// A registered token, as a string, is at most this long (a PushSubscription is well under).
const MAX_TOKEN_BYTES: usize = 8192;

pub fn service_of(platform: Platform) -> PushService {
    match platform {
        Platform::Ios => PushService::Apns,
        Platform::Android => PushService::Fcm,
        Platform::Web => PushService::WebPush,
    }
}

/// The token a client registers, parsed for its platform's provider.
pub fn parse_token(platform: Platform, token: &TokenInput) -> Result<DeviceToken, InvalidInput> {
    let raw = match (platform, token) {
        (_, TokenInput::Text(raw)) => raw.clone(),
        (Platform::Web, TokenInput::Subscription(fields)) => {
            serde_json::Value::Object(fields.clone()).to_string()
        }
        _ => return Err(InvalidInput::new("token", "must be a string")),
    };
    if raw.len() > MAX_TOKEN_BYTES {
        return Err(InvalidInput::new("token", "must be at most 8192 bytes"));
    }
    DeviceToken::parse(service_of(platform), &raw)
}

/// The token as stored, and the key that finds the same device again: for Web Push the
/// endpoint (a browser's keys may change, its endpoint names the subscription).
fn stored_form(token: &DeviceToken) -> (String, String) {
    let (stored, address) = match token {
        DeviceToken::WebPush(subscription) => {
            (subscription.to_json(), subscription.endpoint().to_string())
        }
        DeviceToken::Fcm(fcm) => (fcm.as_str().to_owned(), fcm.as_str().to_owned()),
        DeviceToken::Apns(apns) => (apns.as_str().to_owned(), apns.as_str().to_owned()),
    };
    let key = hex::encode(Sha256::digest(
        format!("{}:{address}", token.service().name()).as_bytes(),
    ));
    (stored, key)
}

fn dto(device: Device, current: SessionId) -> DeviceDto {
    DeviceDto {
        id: device.id.into(),
        platform: device.platform,
        current: device.session_id == current,
        created_at: device.created_at,
        updated_at: device.updated_at,
    }
}

/// Registers a device for the caller's session. The same token again updates the device and
/// binds it to this session; a token registered by another account moves to this one (the
/// app was signed into another account), as a new device.
#[tracing::instrument(skip_all, fields(user.id = %user_id, platform = ?request.platform))]
pub async fn register(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    request: RegisterDevice,
) -> Result<DeviceDto, DeviceError> {
    let token = parse_token(request.platform, &request.token)?;
    let (stored, key) = stored_form(&token);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match upsert(app, user_id, session_id, request.platform, &stored, &key).await {
            // Two registrations of a new token raced on PostgreSQL: the second finds the first.
            Err(DeviceError::Db(err))
                if attempt < 3
                    && matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            other => return other.map(|device| dto(device, session_id)),
        }
    }
}

async fn upsert(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    platform: Platform,
    stored: &str,
    key: &str,
) -> Result<Device, DeviceError> {
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    // Holds the session while the device is bound to it: ending it waits for this commit,
    // and then ends the device too.
    if !account::hold_live_session(&txn, session_id, now).await? {
        return Err(DeviceError::SessionEnded);
    }
    let device = match repo::find_by_key(&txn, key).await? {
        Some(existing) if existing.user_id == user_id => {
            repo::rebind(&txn, existing.id, session_id, platform, stored, now).await?;
            Device {
                session_id,
                platform,
                token: stored.to_owned(),
                updated_at: now,
                ..existing
            }
        }
        found => {
            if let Some(other) = found {
                repo::delete(&txn, other.id).await?;
            }
            let new = NewDevice {
                user_id,
                session_id,
                platform,
                token: stored.to_owned(),
                token_key: key.to_owned(),
            };
            let device = repo::insert(&txn, new, now).await?;
            repo::trim(&txn, user_id, MAX_DEVICES_PER_USER).await?;
            device
        }
    };
    txn.commit().await?;
    Ok(device)
}

pub async fn list(
    app: &AppState,
    user_id: UserId,
    current: SessionId,
) -> Result<DeviceList, DeviceError> {
    let items = repo::of_user(&*app.db, user_id)
        .await?
        .into_iter()
        .map(|device| dto(device, current))
        .collect();
    Ok(DeviceList { items })
}

/// Unregisters one of the caller's devices; any other id is a 404.
#[tracing::instrument(skip_all, fields(user.id = %user_id, device.id = %id))]
pub async fn delete(app: &AppState, user_id: UserId, id: DeviceId) -> Result<(), DeviceError> {
    if repo::delete_owned(&*app.db, user_id, id).await? {
        Ok(())
    } else {
        Err(DeviceError::NotFound)
    }
}

pub fn vapid_public_key(app: &AppState) -> Result<VapidPublicKey, DeviceError> {
    let web_push = app
        .config
        .push
        .web_push
        .as_ref()
        .ok_or(DeviceError::WebPushNotConfigured)?;
    Ok(VapidPublicKey {
        public_key: web_push.keys.public_key().to_owned(),
    })
}

/// Deletes the devices of sessions that end, in the transaction that ends them.
pub async fn unbind_sessions(
    conn: &impl ConnectionTrait,
    sessions: &[SessionId],
) -> Result<u64, DbErr> {
    repo::delete_of_sessions(conn, sessions).await
}

/// A user's devices, for fanning a notification out.
pub async fn of_user(conn: &impl ConnectionTrait, user_id: UserId) -> Result<Vec<Device>, DbErr> {
    repo::of_user(conn, user_id).await
}

pub async fn find(conn: &impl ConnectionTrait, id: DeviceId) -> Result<Option<Device>, DbErr> {
    repo::find(conn, id).await
}

/// The provider says the device's token is dead: forget the device, unless it was registered
/// again (with another token) since.
pub async fn prune(conn: &impl ConnectionTrait, device: &Device) -> Result<bool, DbErr> {
    repo::delete_with_token(conn, device.id, &device.token).await
}

/// The stored token, parsed for its provider again.
pub fn target(device: &Device) -> Result<DeviceToken, InvalidInput> {
    DeviceToken::parse(service_of(device.platform), &device.token)
}

/// Every device of the user, for the account export (tokens left out).
pub async fn export_all(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    current: SessionId,
) -> Result<Vec<DeviceDto>, DbErr> {
    Ok(repo::of_user(conn, user_id)
        .await?
        .into_iter()
        .map(|device| dto(device, current))
        .collect())
}
