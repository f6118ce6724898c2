use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache as Moka;

use super::{Cache, CacheStatus};

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

/// The in-process cache used when no Redis is configured (one instance).
pub struct MemoryCache {
    entries: Moka<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }
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

    async fn increment(&self, key: &str, ttl: Duration) -> Option<u64> {
        let entry = self
            .entries
            .entry(key.to_owned())
            .and_upsert_with(|existing| {
                let count = existing
                    .and_then(|e| <[u8; 8]>::try_from(e.into_value().value.as_slice()).ok())
                    .map_or(1, |bytes| u64::from_le_bytes(bytes).saturating_add(1));
                std::future::ready(Entry {
                    value: count.to_le_bytes().to_vec(),
                    ttl,
                })
            })
            .await;
        <[u8; 8]>::try_from(entry.into_value().value.as_slice())
            .ok()
            .map(u64::from_le_bytes)
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
        let cache = MemoryCache::new(100);
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
    async fn counters_count_concurrent_increments() {
        let cache = std::sync::Arc::new(MemoryCache::new(100));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.increment("n", Duration::from_secs(60)).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.ok().flatten().is_some());
        }
        assert_eq!(
            cache.increment("n", Duration::from_secs(60)).await,
            Some(51)
        );
    }
}
