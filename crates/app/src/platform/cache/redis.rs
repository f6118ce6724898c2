use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context as _;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Cache, CacheStatus};
use crate::platform::rate_limit::gcra::{Outcome, Rate};

/// `gcra::check`, run atomically in Redis with Redis's own clock, so that every instance
/// decides against the same time. Returns `{1, ahead_us}` when admitted, `{0, wait_us}` when not.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat + emission - now
if ahead > burst then
  return {0, ahead - burst}
end
redis.call('SET', KEYS[1], tat + emission, 'PX', math.ceil(ahead / 1000) + 1000)
return {1, ahead}
",
    )
});

/// Redis-backed cache shared by every instance. Keys are namespaced with `REDIS_PREFIX`.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisCache {
    /// Connects, retrying with exponential backoff (250 ms up to 5 s) for up to `limit`: at
    /// start-up Redis may come up after the server, as the database may.
    pub async fn connect_within(url: &str, prefix: &str, limit: Duration) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        let mut backoff = Duration::from_millis(250);
        let mut attempt = 1u32;
        loop {
            match Self::try_connect(url, prefix).await {
                Ok(cache) => return Ok(cache),
                Err(err) if started.elapsed() + backoff < limit => {
                    tracing::warn!(attempt, retry_in_ms = backoff.as_millis() as u64,
                        error = %format!("{err:#}"), "Redis not reachable yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn try_connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
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

    async fn throttle(&self, key: &str, rate: Rate) -> Option<Outcome> {
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<(i64, i64)> = GCRA
            .key(self.key(key))
            .arg(rate.emission_us())
            .arg(rate.burst_us())
            .invoke_async(&mut conn)
            .await;
        match result {
            Ok((1, ahead)) => Some(Outcome::Allowed {
                ahead_us: u64::try_from(ahead).unwrap_or(0),
            }),
            Ok((_, wait)) => Some(Outcome::Denied {
                wait_us: u64::try_from(wait).unwrap_or(0),
            }),
            Err(err) => {
                tracing::warn!(error = %err, "rate-limit check failed; not rate limiting");
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
