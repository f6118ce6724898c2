//! The shared cache: in-process (moka) by default, Redis when `REDIS_URL` is set, so that every
//! instance sees the same entries and invalidations.
//!
//! A cache failure never fails a request: reads count as misses and writes are dropped (and
//! logged), so a Redis outage costs speed, not availability. Entries that guard security
//! (session liveness) are kept short-lived for the same reason.

mod memory;
mod redis;
mod trust;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use memory::MemoryCache;

use crate::platform::rate_limit::gcra::{Outcome, Rate};
pub use redis::RedisCache;
pub use trust::CacheTrust;

/// What `/health` reports about the cache backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// In-process cache: there is no Redis to be connected to.
    Disabled,
    Connected,
    Disconnected,
}

#[async_trait::async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
    async fn delete(&self, keys: &[String]);
    /// One request against the GCRA budget `rate` kept under `key`, decided atomically;
    /// `None` when the cache cannot answer (callers then fail open).
    async fn throttle(&self, key: &str, rate: Rate) -> Option<Outcome>;
    async fn status(&self) -> CacheStatus;
}

pub type SharedCache = Arc<dyn Cache>;

/// Typed helpers over the byte-oriented trait.
pub async fn get_json<T: DeserializeOwned>(cache: &dyn Cache, key: &str) -> Option<T> {
    let value = cache
        .get(key)
        .await
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    crate::platform::metrics::cache_lookup(key, value.is_some());
    value
}

pub async fn set_json<T: Serialize>(cache: &dyn Cache, key: &str, value: &T, ttl: Duration) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        cache.set(key, bytes, ttl).await;
    }
}

pub async fn delete_one(cache: &dyn Cache, key: String) {
    cache.delete(&[key]).await;
}
