use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache as Moka;
use moka::ops::compute::Op;

use super::{Cache, CacheStatus};
use crate::platform::rate_limit::gcra::{self, Outcome, Rate};

#[derive(Clone)]
struct Entry {
    value: Vec<u8>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _now: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// What an entry costs against the byte bound: its key, its value and moka's bookkeeping.
fn weight(key: &str, entry: &Entry) -> u32 {
    const OVERHEAD: usize = 96;
    u32::try_from(key.len() + entry.value.len() + OVERHEAD).unwrap_or(u32::MAX)
}

/// The in-process cache used when no Redis is configured (one instance). Bounded by bytes, not
/// entries: a few large values cannot grow the process without limit.
pub struct MemoryCache {
    entries: Moka<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, entry: &Entry| weight(key, entry))
                .expire_after(PerEntryTtl)
                .build(),
        }
    }

    /// Bytes held, as the bound counts them (after pending maintenance).
    pub async fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.weighted_size()
    }
}

fn now_us() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0)
}

#[async_trait::async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.entries.get(key).await.map(|e| e.value)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        self.entries
            .insert(key.to_owned(), Entry { value, ttl })
            .await;
    }

    async fn delete(&self, keys: &[String]) {
        for key in keys {
            self.entries.invalidate(key).await;
        }
    }

    async fn throttle(&self, key: &str, rate: Rate) -> Option<Outcome> {
        let now = now_us();
        let mut outcome = None;
        // One atomic read-modify-write per key: concurrent requests are decided one by one.
        self.entries
            .entry(key.to_owned())
            .and_compute_with(|existing| {
                let stored = existing
                    .and_then(|e| <[u8; 8]>::try_from(e.into_value().value.as_slice()).ok())
                    .map(u64::from_le_bytes);
                let (decision, new_tat) = gcra::check(stored, now, rate);
                outcome = Some(decision);
                std::future::ready(match new_tat {
                    Some(tat) => Op::Put(Entry {
                        value: tat.to_le_bytes().to_vec(),
                        ttl: Duration::from_micros(tat - now) + Duration::from_secs(1),
                    }),
                    None => Op::Nop,
                })
            })
            .await;
        outcome
    }

    async fn status(&self) -> CacheStatus {
        CacheStatus::Disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_expire_and_can_be_deleted() {
        let cache = MemoryCache::new(1 << 20);
        cache
            .set("a", b"1".to_vec(), Duration::from_millis(50))
            .await;
        cache.set("b", b"2".to_vec(), Duration::from_secs(60)).await;
        assert_eq!(cache.get("a").await, Some(b"1".to_vec()));
        cache.delete(&["b".to_owned()]).await;
        assert_eq!(cache.get("b").await, None);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.get("a").await, None);
    }

    #[tokio::test]
    async fn concurrent_requests_never_pass_the_budget() {
        let cache = std::sync::Arc::new(MemoryCache::new(1 << 20));
        let rate = Rate::per_minute(20);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.throttle("n", rate).await })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            if let Ok(Some(Outcome::Allowed { .. })) = task.await {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 20);
    }

    #[tokio::test]
    async fn the_byte_bound_holds_whatever_the_values() {
        let cache = MemoryCache::new(1 << 20);
        for i in 0..64 {
            cache
                .set(
                    &format!("big{i}"),
                    vec![0u8; 256 * 1024],
                    Duration::from_secs(60),
                )
                .await;
        }
        let held = cache.weighted_size().await;
        assert!(held <= 1 << 20, "{held} bytes held against a 1 MiB bound");
    }
}
