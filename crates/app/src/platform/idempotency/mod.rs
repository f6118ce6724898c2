//! `Idempotency-Key`: a POST carrying a key runs once per scope (user, or client IP when
//! anonymous) and key for 24 hours. The key is claimed before the work starts, and completed
//! with the response in the same transaction as the work, so a crash leaves either nothing or
//! both. Retries with the same body replay the stored answer (`Idempotent-Replayed: true`); a
//! different body is `422`; a retry while the first still runs is `409`.
//!
//! Every stored response is sealed, bound to its scope and key (`seal.rs`), and a scope holds at
//! most `IDEMPOTENCY_MAX_BYTES_PER_USER` of them: past it, its oldest stored responses are
//! dropped (a retry of a dropped key runs again). Large replays skip the cache.

mod seal;
mod store;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use store::{delete_scope, purge_expired, stored_bytes};

use super::{cache, clock, db};
use crate::state::AppState;

/// Why a request with a key does not run.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("a request with this key is still being processed")]
    InProgress,
    #[error("this key was used with a different request")]
    Mismatch,
    #[error("a stored response does not open with its scope and key")]
    Unreadable,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The stored answer of an earlier request, to send again.
#[derive(Debug)]
pub struct Replay {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// The response carries tokens: replay it with `Cache-Control: no-store`.
    pub no_store: bool,
}

const RETENTION: TimeDelta = TimeDelta::hours(24);
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Replays larger than this are answered from the database only: a few big responses must
/// not crowd the in-process cache (or Redis) out.
const MAX_CACHED_REPLAY_BYTES: usize = 64 * 1024;

/// A key this request has claimed and must complete (with its work) or release.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    key: String,
    request_hash: String,
    locked_until: DateTime<Utc>,
    seal_key: [u8; 32],
    max_stored_bytes: u64,
}

impl Claim {
    fn held(&self) -> sea_orm::Condition {
        store::held(
            &self.scope,
            &self.key,
            &self.request_hash,
            self.locked_until,
        )
    }
}

/// What a replay sends back; the body as stored (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    request_hash: String,
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Stored {
    fn from_row(row: store::KeyRow) -> Self {
        Self {
            request_hash: row.request_hash,
            status: u16::try_from(row.response_status.unwrap_or(200)).unwrap_or(200),
            body: row.response_body.unwrap_or_default(),
            headers: row
                .response_headers
                .and_then(|h| serde_json::from_value(h).ok())
                .unwrap_or_default(),
        }
    }
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
    Replay(Replay),
}

fn cache_key(scope: &str, key: &str) -> String {
    format!(
        "idem:{scope}:{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

/// How a replay is answered.
struct ReplayOf<'a> {
    app: &'a AppState,
    scope: &'a str,
    key: &'a str,
    request_hash: &'a str,
    /// Responses that carry tokens are replayed with `Cache-Control: no-store`.
    no_store: bool,
}

impl ReplayOf<'_> {
    fn respond(&self, stored: Stored) -> Result<Begin, IdempotencyError> {
        if stored.request_hash != self.request_hash {
            return Err(IdempotencyError::Mismatch);
        }
        let body = seal::open(
            &self.app.idempotency_seal,
            self.scope,
            self.key,
            &stored.body,
        )
        .ok_or(IdempotencyError::Unreadable)?;
        Ok(Begin::Replay(Replay {
            status: stored.status,
            body,
            headers: stored.headers,
            no_store: self.no_store,
        }))
    }
}

/// Claims `key` for this request, or returns the stored answer of an earlier one.
pub async fn begin(
    app: &AppState,
    scope: &str,
    key: &str,
    request_hash: String,
    no_store: bool,
) -> Result<Begin, IdempotencyError> {
    let replay = ReplayOf {
        app,
        scope,
        key,
        request_hash: &request_hash,
        no_store,
    };
    if let Some(stored) =
        cache::get_json::<Stored>(app.cache.as_ref(), &cache_key(scope, key)).await
    {
        return replay.respond(stored);
    }
    let now = clock::now();
    let lease = TimeDelta::from_std(app.config.http.request_timeout)
        .unwrap_or(TimeDelta::MAX)
        .checked_add(&TimeDelta::seconds(30))
        .unwrap_or(TimeDelta::MAX);
    let locked_until = now + lease;
    let txn = db::begin_write(&app.db).await?;
    match store::find(&txn, scope, key).await? {
        Some(row) if row.expires_at > now && row.state == store::KeyState::Completed => {
            txn.commit().await?;
            // Never cached beyond the key's own life.
            let ttl = (row.expires_at - now)
                .to_std()
                .map_or(Duration::ZERO, |left| left.min(CACHE_TTL));
            let stored = Stored::from_row(row);
            if stored.body.len() <= MAX_CACHED_REPLAY_BYTES {
                cache::set_json(app.cache.as_ref(), &cache_key(scope, key), &stored, ttl).await;
            }
            return replay.respond(stored);
        }
        Some(row) if row.expires_at > now && row.locked_until > now => {
            txn.commit().await?;
            if row.request_hash != request_hash {
                return Err(IdempotencyError::Mismatch);
            }
            return Err(IdempotencyError::InProgress);
        }
        Some(_) => {
            // Expired, or abandoned by a request that died: start over.
            store::delete(&txn, scope, key).await?;
        }
        None => {}
    }
    let inserted = store::insert_claim(
        &txn,
        store::NewClaim {
            scope,
            key,
            request_hash: &request_hash,
            now,
            locked_until,
            expires_at: now + RETENTION,
        },
    )
    .await;
    match inserted {
        Ok(()) => txn.commit().await?,
        // A concurrent request inserted the same key first (PostgreSQL): it is in progress.
        Err(err) if db::is_unique_violation(&err) => {
            return Err(IdempotencyError::InProgress);
        }
        Err(err) => return Err(err.into()),
    }
    Ok(Begin::Run(Claim {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash,
        locked_until,
        seal_key: app.idempotency_seal,
        max_stored_bytes: app.config.idempotency.max_bytes_per_scope,
    }))
}

/// Stores the response with the key, sealed. Call inside the transaction that does the work.
pub async fn complete(
    conn: &impl ConnectionTrait,
    claim: &Claim,
    status: u16,
    body: &impl Serialize,
    headers: &[(String, String)],
) -> Result<(), DbErr> {
    let json = serde_json::to_vec(body).map_err(|e| DbErr::Json(e.to_string()))?;
    let sealed_body = seal::seal(&claim.seal_key, &claim.scope, &claim.key, &json)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let headers = serde_json::to_value(headers).map_err(|e| DbErr::Json(e.to_string()))?;
    let response = store::StoredResponse {
        status,
        sealed_body,
        headers,
    };
    let held = claim.held();
    let stored = store::complete(
        conn,
        held,
        &claim.scope,
        &claim.key,
        response,
        claim.max_stored_bytes,
    )
    .await?;
    if !stored {
        // Our lease ran out and another request took the key over: roll back, let it win.
        return Err(DbErr::Custom("idempotency key claim was lost".to_owned()));
    }
    Ok(())
}

/// Gives a claimed key back when the request failed, so that a retry can run. Only our own
/// claim: if the lease ran out and another request took the key over, its claim stays.
pub async fn release(app: &AppState, claim: &Claim) {
    if let Err(err) = store::release(&*app.db, claim.held()).await {
        tracing::warn!(error = %err, "could not release an idempotency key; it expires with its lease");
    }
}
