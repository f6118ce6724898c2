//! A consecutive-failure circuit breaker for one external provider (mail now; push and storage
//! next), and the registry of them that `/health` and the metrics read.
//!
//! Written here rather than taken from a crate because none of the candidates offered all of:
//! a side-effect-free "is it open, and for how long?" query for the job runner and the health
//! endpoint, a single half-open probe, and state that advances with time rather than only when a
//! call is attempted (a job runner that never calls while "open" must still see it half-open).
//!
//! Time is `tokio::time::Instant`, so tests drive the cool-down with a paused clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// For a gauge metric: 0 closed, 1 half-open, 2 open.
    pub fn as_gauge(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the circuit.
    pub failure_threshold: u32,
    /// How long it stays open before one probe is let through. Also the wait suggested to
    /// callers that lose the race for the probe.
    pub cool_down: Duration,
}

/// What `/health` and metrics export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub times_opened: u64,
    /// Milliseconds until a call would be admitted; `None` when one would be now.
    pub retry_in_ms: Option<u64>,
}

/// The call was not admitted; nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub retry_in: Duration,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    consecutive_failures: u32,
    times_opened: u64,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    /// The provider, in logs and metrics (`mail`, `push_fcm`...).
    name: &'static str,
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

/// Admission to make one call. Report the outcome with [`Permit::success`] or
/// [`Permit::failure`]; dropping it unreported (a cancelled send) frees the probe slot.
#[must_use = "report the outcome, or the call is not counted"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    settled: bool,
}

impl CircuitBreaker {
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        let inner = Inner {
            phase: Phase::Closed,
            consecutive_failures: 0,
            times_opened: 0,
        };
        Self {
            name,
            config: BreakerConfig {
                failure_threshold: config.failure_threshold.max(1),
                ..config
            },
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // No code path panics while holding the lock; recover rather than propagate a poison.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pure read of (state, wait): an open circuit whose cool-down has passed reads half-open.
    fn observe(&self, inner: &Inner, now: Instant) -> (BreakerState, Option<Duration>) {
        match inner.phase {
            Phase::Closed => (BreakerState::Closed, None),
            Phase::Open { until } if now < until => (BreakerState::Open, Some(until - now)),
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                (BreakerState::HalfOpen, None)
            }
            Phase::HalfOpen { probing: true } => {
                (BreakerState::HalfOpen, Some(self.config.cool_down))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn state(&self) -> BreakerState {
        self.observe(&self.lock(), Instant::now()).0
    }

    /// For a job runner: `Some(wait)` means "a call would be rejected; reschedule after `wait`
    /// without spending an attempt". `None` means a call would be admitted now.
    pub fn retry_in(&self) -> Option<Duration> {
        self.observe(&self.lock(), Instant::now()).1
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let inner = self.lock();
        let (state, wait) = self.observe(&inner, Instant::now());
        BreakerSnapshot {
            state,
            consecutive_failures: inner.consecutive_failures,
            times_opened: inner.times_opened,
            retry_in_ms: wait.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let mut inner = self.lock();
        let probe = match inner.phase {
            Phase::Closed => false,
            Phase::Open { until } if Instant::now() < until => {
                return Err(Rejected {
                    retry_in: until - Instant::now(),
                });
            }
            Phase::HalfOpen { probing: true } => {
                return Err(Rejected {
                    retry_in: self.config.cool_down,
                });
            }
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                inner.phase = Phase::HalfOpen { probing: true };
                true
            }
        };
        Ok(Permit {
            breaker: self,
            probe,
            settled: false,
        })
    }

    fn settle(&self, probe: bool, ok: bool) {
        let mut inner = self.lock();
        if ok {
            inner.consecutive_failures = 0;
            // Only the probe decides in half-open: a late answer from before the outage is stale.
            if probe {
                inner.phase = Phase::Closed;
                self.transitioned(BreakerState::Closed);
                tracing::info!(provider = self.name, "provider circuit closed");
            }
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trip = match inner.phase {
            Phase::Closed => inner.consecutive_failures >= self.config.failure_threshold,
            Phase::HalfOpen { .. } => probe,
            Phase::Open { .. } => false,
        };
        if trip {
            inner.phase = Phase::Open {
                until: Instant::now() + self.config.cool_down,
            };
            inner.times_opened += 1;
            self.transitioned(BreakerState::Open);
            tracing::warn!(
                provider = self.name,
                failures = inner.consecutive_failures,
                "provider circuit opened: calls wait for the cool-down"
            );
        }
    }
}

impl CircuitBreaker {
    fn transitioned(&self, to: BreakerState) {
        let to_label = match to {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        };
        metrics::counter!("circuit_breaker_transitions_total", "provider" => self.name, "to" => to_label)
            .increment(1);
        metrics::gauge!("circuit_breaker_state", "provider" => self.name)
            .set(f64::from(to.as_gauge()));
    }
}

/// Every provider's breaker, by name: what `/health` reports and the metrics export.
#[derive(Debug, Default)]
pub struct Breakers {
    by_name: Mutex<BTreeMap<&'static str, Arc<CircuitBreaker>>>,
}

impl Breakers {
    /// The breaker of `name`, created with `config` on first use.
    pub fn get_or_create(&self, name: &'static str, config: BreakerConfig) -> Arc<CircuitBreaker> {
        let mut by_name = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        by_name
            .entry(name)
            .or_insert_with(|| {
                metrics::gauge!("circuit_breaker_state", "provider" => name).set(0.0);
                Arc::new(CircuitBreaker::new(name, config))
            })
            .clone()
    }

    /// `(provider, state)` of every breaker, by name.
    pub fn states(&self) -> Vec<(&'static str, BreakerState)> {
        let by_name = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        by_name.iter().map(|(name, b)| (*name, b.state())).collect()
    }
}

impl Permit<'_> {
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.settle(self.probe, true);
    }

    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.settle(self.probe, false);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            let mut inner = self.breaker.lock();
            if let Phase::HalfOpen { probing } = &mut inner.phase {
                *probing = false;
            }
        }
    }
}

#[cfg(test)]
mod tests;
