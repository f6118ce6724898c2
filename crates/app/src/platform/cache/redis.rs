use std::time::Duration;

use anyhow::Context as _;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Cache, CacheStatus};

/// Redis-backed cache shared by every instance. Keys are namespaced with `REDIS_PREFIX`.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
        // Short timeouts: a slow or absent Redis must cost a request milliseconds, not seconds.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .context("connecting to Redis (REDIS_URL)")?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut conn = self.conn.clone();
        match conn.get::<_, Option<Vec<u8>>>(self.key(key)).await {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(error = %err, "cache read failed; treating as a miss");
                None
            }
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let result: redis::RedisResult<()> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis)
            .query_async(&mut conn)
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "cache write failed");
        }
    }

    async fn delete(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let mut conn = self.conn.clone();
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        if let Err(err) = conn.del::<_, ()>(keys).await {
            tracing::error!(error = %err, "cache invalidation failed; entries expire on their TTL");
        }
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Option<u64> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let key = self.key(key);
        // One round trip, atomically: the expiry is set by the first increment only.
        let result: redis::RedisResult<(u64, i64)> = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis)
            .arg("NX")
            .query_async(&mut conn)
            .await;
        match result {
            Ok((count, _)) => Some(count),
            Err(err) => {
                tracing::warn!(error = %err, "cache counter failed; not rate limiting");
                None
            }
        }
    }

    async fn status(&self) -> CacheStatus {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(Duration::from_secs(1), ping).await {
            Ok(Ok(_)) => CacheStatus::Connected,
            _ => CacheStatus::Disconnected,
        }
    }
}
