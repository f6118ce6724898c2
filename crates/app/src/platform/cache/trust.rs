//! Whether this instance may answer from its own in-process cache: always when the cache is
//! shared (Redis) or only one process serves (SQLite); otherwise only while a listener hears
//! every invalidation (the session revocation listener grants and renews the lease).

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

pub struct CacheTrust {
    /// `None`: always trusted, because every instance shares the cache (Redis) or only one
    /// process serves (SQLite).
    lease: Option<Lease>,
}

/// Trust granted by the revocation listener, for a short time after it last heard from
/// PostgreSQL: if it hangs or dies, trust runs out on its own.
struct Lease {
    origin: Instant,
    /// Milliseconds after `origin` until which the cache may be used; 0 when it may not.
    until_ms: AtomicU64,
    /// Entries cached under an older epoch are ignored: bumping it drops them all at once.
    epoch: AtomicU64,
}

impl Lease {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl CacheTrust {
    pub fn always() -> Self {
        Self { lease: None }
    }

    /// Trusted only while the revocation listener is subscribed; not trusted until it is.
    pub fn while_listening() -> Self {
        Self {
            lease: Some(Lease {
                origin: Instant::now(),
                until_ms: AtomicU64::new(0),
                epoch: AtomicU64::new(0),
            }),
        }
    }

    pub fn needs_listener(&self) -> bool {
        self.lease.is_some()
    }

    /// The epoch a cached entry must carry to be used now; `None` while the cache must be
    /// neither read nor written.
    pub fn epoch(&self) -> Option<u64> {
        let Some(lease) = &self.lease else {
            return Some(0);
        };
        // `confirm` bumps the epoch before extending the lease: whoever sees the new lease
        // sees the new epoch too.
        let until = lease.until_ms.load(SeqCst);
        (lease.now_ms() < until).then(|| lease.epoch.load(SeqCst))
    }

    /// The listener lost its connection: revocations may go unheard from now on.
    pub fn distrust(&self) {
        if let Some(lease) = &self.lease {
            lease.until_ms.store(0, SeqCst);
        }
    }

    /// The listener is subscribed and has just heard from PostgreSQL: trust the cache for
    /// `lease` more. When trust had lapsed (a new subscription, or a stall), notifications may
    /// have been missed in between, so everything cached before is dropped.
    pub fn confirm(&self, lease: Duration) {
        let Some(state) = &self.lease else {
            return;
        };
        let now = state.now_ms();
        if now >= state.until_ms.load(SeqCst) {
            state.epoch.fetch_add(1, SeqCst);
        }
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        state
            .until_ms
            .store(now.saturating_add(lease_ms).max(1), SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_or_single_process_cache_is_always_trusted() {
        let trust = CacheTrust::always();
        assert!(!trust.needs_listener());
        trust.distrust();
        assert_eq!(trust.epoch(), Some(0));
    }

    #[test]
    fn a_local_cache_is_trusted_only_while_the_listener_confirms_it() {
        let trust = CacheTrust::while_listening();
        assert!(trust.needs_listener());
        assert_eq!(trust.epoch(), None, "not before the first subscription");
        trust.confirm(Duration::from_secs(60));
        let first = trust.epoch();
        assert!(first.is_some());
        trust.confirm(Duration::from_secs(60));
        assert_eq!(trust.epoch(), first, "a heartbeat keeps what is cached");
        trust.distrust();
        assert_eq!(trust.epoch(), None);
        trust.confirm(Duration::from_secs(60));
        assert!(
            trust.epoch().is_some_and(|e| Some(e) != first),
            "re-subscribing flushes"
        );
    }

    #[test]
    fn trust_lapses_without_confirmation_and_then_flushes() {
        let trust = CacheTrust::while_listening();
        trust.confirm(Duration::from_millis(20));
        let first = trust.epoch();
        assert!(first.is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(trust.epoch(), None);
        trust.confirm(Duration::from_secs(60));
        assert!(trust.epoch().is_some_and(|e| Some(e) != first));
    }
}
