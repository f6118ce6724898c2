//! `Idempotency-Key`: a POST carrying a key runs once per scope (user, or client IP when
//! anonymous) and key for 24 hours. The key is claimed before the work starts, and completed
//! with the response in the same transaction as the work, so a crash leaves either nothing or
//! both. Retries with the same body replay the stored answer (`Idempotent-Replayed: true`); a
//! different body is `422`; a retry while the first still runs is `409`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use chrono::{DateTime, TimeDelta, Utc};
use entity::idempotency_key;
use rand::Rng as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorCode};
use super::{cache, clock, db};
use crate::app::AppState;

pub const HEADER: &str = "idempotency-key";
const RETENTION: TimeDelta = TimeDelta::hours(24);
const CACHE_TTL: Duration = Duration::from_secs(3600);

/// The optional `Idempotency-Key` header, validated (1..255 visible ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(Self(None));
        };
        let key = value.to_str().ok().filter(|k| {
            (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
        match key {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(ApiError::field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )),
        }
    }
}

/// A key this request has claimed and must complete (with its work) or release.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    key: String,
    request_hash: String,
    locked_until: DateTime<Utc>,
    /// Responses holding secrets (tokens) are stored encrypted.
    sealed_with: Option<[u8; 32]>,
}

impl Claim {
    /// The key's row as long as this claim still holds it: if the lease ran out and another
    /// request took the key over, that request's claim matches no longer.
    fn held(&self) -> Condition {
        Condition::all()
            .add(idempotency_key::Column::Scope.eq(&self.scope))
            .add(idempotency_key::Column::Key.eq(&self.key))
            .add(idempotency_key::Column::State.eq("in_progress"))
            .add(idempotency_key::Column::RequestHash.eq(&self.request_hash))
            .add(idempotency_key::Column::LockedUntil.eq(self.locked_until))
    }
}

/// What a replay sends back.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    request_hash: String,
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

/// Fingerprint of a request: method, route and the body in canonical JSON form (keys sorted).
/// Keyed with the server secret, because bodies may hold passwords.
pub fn request_hash(app: &AppState, method: &str, route: &str, body: &impl Serialize) -> String {
    use hmac::{Hmac, Mac};
    let canonical = serde_json::to_value(body)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&app.idempotency_seal)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{method} {route}\n{canonical}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub enum Begin {
    Run(Claim),
    Replay(Response),
}

fn cache_key(scope: &str, key: &str) -> String {
    format!(
        "idem:{scope}:{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

/// Claims `key` for this request, or returns the stored answer of an earlier one.
pub async fn begin(
    app: &AppState,
    scope: &str,
    key: &str,
    request_hash: String,
    sensitive: bool,
) -> Result<Begin, ApiError> {
    let sealed_with = sensitive.then_some(app.idempotency_seal);
    if let Some(stored) =
        cache::get_json::<Stored>(app.cache.as_ref(), &cache_key(scope, key)).await
    {
        return replay(stored, &request_hash, sealed_with.as_ref());
    }
    let now = clock::now();
    let lease = TimeDelta::from_std(app.config.http.request_timeout)
        .unwrap_or(TimeDelta::MAX)
        .checked_add(&TimeDelta::seconds(30))
        .unwrap_or(TimeDelta::MAX);
    let locked_until = now + lease;
    let txn = db::begin_write(&app.db).await?;
    let existing = idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned()))
        .one(&txn)
        .await?;
    match existing {
        Some(row) if row.expires_at > now && row.state == "completed" => {
            txn.commit().await?;
            let stored = Stored {
                request_hash: row.request_hash,
                status: u16::try_from(row.response_status.unwrap_or(200)).unwrap_or(200),
                body: row.response_body.unwrap_or_default(),
                headers: row
                    .response_headers
                    .and_then(|h| serde_json::from_value(h).ok())
                    .unwrap_or_default(),
            };
            // Never cached beyond the key's own life.
            let ttl = (row.expires_at - now)
                .to_std()
                .map_or(Duration::ZERO, |left| left.min(CACHE_TTL));
            cache::set_json(app.cache.as_ref(), &cache_key(scope, key), &stored, ttl).await;
            return replay(stored, &request_hash, sealed_with.as_ref());
        }
        Some(row) if row.expires_at > now && row.locked_until > now => {
            txn.commit().await?;
            if row.request_hash != request_hash {
                return Err(mismatch());
            }
            return Err(in_progress());
        }
        Some(_) => {
            // Expired, or abandoned by a request that died: start over.
            idempotency_key::Entity::delete_by_id((scope.to_owned(), key.to_owned()))
                .exec(&txn)
                .await?;
        }
        None => {}
    }
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        scope: Set(scope.to_owned()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.clone()),
        state: Set("in_progress".to_owned()),
        response_status: Set(None),
        response_body: Set(None),
        response_headers: Set(None),
        locked_until: Set(locked_until),
        created_at: Set(now),
        expires_at: Set(now + RETENTION),
    })
    .exec_without_returning(&txn)
    .await;
    match inserted {
        Ok(_) => txn.commit().await?,
        // A concurrent request inserted the same key first (PostgreSQL): it is in progress.
        Err(err) if db::is_unique_violation(&err) => {
            return Err(in_progress());
        }
        Err(err) => return Err(err.into()),
    }
    Ok(Begin::Run(Claim {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash,
        locked_until,
        sealed_with,
    }))
}

fn in_progress() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyInProgress,
        "A request with this Idempotency-Key is still being processed",
    )
    .with_retry_after(1)
}

fn mismatch() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyMismatch,
        "This Idempotency-Key was used with a different request body",
    )
}

fn replay(
    stored: Stored,
    request_hash: &str,
    sealed_with: Option<&[u8; 32]>,
) -> Result<Begin, ApiError> {
    if stored.request_hash != request_hash {
        return Err(mismatch());
    }
    let body = match sealed_with {
        Some(key) => unseal(key, &stored.body).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "stored idempotent response cannot be decrypted"
            ))
        })?,
        None => stored.body.into_bytes(),
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK))
        .header("content-type", "application/json")
        .header("idempotent-replayed", "true");
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response = response.header(name, value);
        }
    }
    if sealed_with.is_some() {
        response = response.header("cache-control", "no-store");
    }
    response
        .body(Body::from(body))
        .map(Begin::Replay)
        .map_err(ApiError::internal)
}

/// Stores the response with the key. Call inside the transaction that does the work.
pub async fn complete(
    conn: &impl ConnectionTrait,
    claim: &Claim,
    status: u16,
    body: &impl Serialize,
    headers: &[(String, String)],
) -> Result<(), DbErr> {
    let json = serde_json::to_string(body).map_err(|e| DbErr::Json(e.to_string()))?;
    let stored_body = match &claim.sealed_with {
        Some(key) => seal(key, json.as_bytes()).map_err(|e| DbErr::Custom(e.to_string()))?,
        None => json,
    };
    let headers = serde_json::to_value(headers).map_err(|e| DbErr::Json(e.to_string()))?;
    let result = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::State, Expr::value("completed"))
        .col_expr(
            idempotency_key::Column::ResponseStatus,
            Expr::value(i32::from(status)),
        )
        .col_expr(
            idempotency_key::Column::ResponseBody,
            Expr::value(stored_body),
        )
        .col_expr(
            idempotency_key::Column::ResponseHeaders,
            Expr::value(headers),
        )
        .filter(claim.held())
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        // Our lease ran out and another request took the key over: roll back, let it win.
        return Err(DbErr::Custom("idempotency key claim was lost".to_owned()));
    }
    Ok(())
}

/// Gives a claimed key back when the request failed, so that a retry can run. Only our own
/// claim: if the lease ran out and another request took the key over, its claim stays.
pub async fn release(app: &AppState, claim: &Claim) {
    let result = idempotency_key::Entity::delete_many()
        .filter(claim.held())
        .exec(&*app.db)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not release an idempotency key; it expires with its lease");
    }
}

/// Runs `work` at most once per key: without a key it simply runs.
pub async fn run_once<F, Fut>(
    app: &AppState,
    scope: &str,
    key: Option<String>,
    request_hash: String,
    sensitive: bool,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Option<Claim>) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let Some(key) = key else {
        return work(None).await;
    };
    match begin(app, scope, &key, request_hash, sensitive).await? {
        Begin::Replay(response) => Ok(response),
        Begin::Run(claim) => {
            let result = work(Some(claim.clone())).await;
            if result.is_err() {
                release(app, &claim).await;
            }
            result
        }
    }
}

pub async fn delete_scope(conn: &impl ConnectionTrait, scope: &str) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Scope.eq(scope))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn purge_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

fn seal(key: &[u8; 32], plaintext: &[u8]) -> anyhow::Result<String> {
    let cipher = ChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), plaintext)
        .map_err(|_| anyhow::anyhow!("encrypting a stored response failed"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("sealed:{}", STANDARD.encode(out)))
}

fn unseal(key: &[u8; 32], stored: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(stored.strip_prefix("sealed:")?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    ChaCha20Poly1305::new(key.into())
        .decrypt(&Nonce::from(nonce), sealed)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_responses_round_trip_and_need_the_key() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"{\"refreshToken\":\"secret\"}").unwrap_or_default();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            unseal(&key, &sealed).as_deref(),
            Some(&b"{\"refreshToken\":\"secret\"}"[..])
        );
        assert_eq!(unseal(&[8u8; 32], &sealed), None);
    }
}
