//! The generic cell rate algorithm (GCRA): a budget of `limit` requests per period that refills
//! continuously, one request every `period / limit`. Unlike fixed windows it never admits a
//! double burst across a window edge: after `limit` requests at once, the next one waits for
//! one emission interval, whatever the clock says.
//!
//! The state per key is one number, the theoretical arrival time (TAT) of the next request.
//! The in-memory cache runs [`check`] atomically per key; Redis runs the same arithmetic in one
//! Lua script (`cache/redis.rs`), so both backends decide identically.

/// `limit` requests per `period_us` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u64,
    pub period_us: u64,
}

impl Rate {
    pub fn per_minute(limit: u64) -> Self {
        Self {
            limit: limit.max(1),
            period_us: 60_000_000,
        }
    }

    /// Microseconds between two requests at the sustained rate, rounded up: rounded down, a
    /// period that `limit` does not divide would refill faster than `limit` per period.
    pub fn emission_us(self) -> u64 {
        self.period_us.div_ceil(self.limit.max(1)).max(1)
    }

    /// How far ahead of now the TAT may run: exactly `limit` emission intervals, so a burst
    /// is `limit` requests. (The period itself would let `period / emission` through, more
    /// than `limit` when the division rounds.)
    pub fn burst_us(self) -> u64 {
        self.emission_us().saturating_mul(self.limit.max(1))
    }
}

/// What the store answers for one request, in microseconds relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted; the budget is fully restored `ahead_us` from now.
    Allowed { ahead_us: u64 },
    /// Refused; one request would be admitted `wait_us` from now.
    Denied { wait_us: u64 },
}

/// One GCRA step: the decision, and the new TAT to store when admitted.
pub fn check(stored_tat: Option<u64>, now_us: u64, rate: Rate) -> (Outcome, Option<u64>) {
    let tat = stored_tat.unwrap_or(now_us).max(now_us);
    let new_tat = tat.saturating_add(rate.emission_us());
    let ahead_us = new_tat - now_us;
    if ahead_us > rate.burst_us() {
        (
            Outcome::Denied {
                wait_us: ahead_us - rate.burst_us(),
            },
            None,
        )
    } else {
        (Outcome::Allowed { ahead_us }, Some(new_tat))
    }
}

/// The outcome of one request against one budget, as the `RateLimit-*` headers tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the whole budget is available again.
    pub reset_secs: u64,
    /// `Some(seconds until one request is admitted)` when this request was refused.
    pub retry_after_secs: Option<u64>,
}

impl Budget {
    pub fn exceeded(&self) -> bool {
        self.retry_after_secs.is_some()
    }

    pub fn from_outcome(outcome: Outcome, rate: Rate) -> Self {
        let ceil_secs = |us: u64| us.div_ceil(1_000_000);
        match outcome {
            Outcome::Allowed { ahead_us } => Self {
                limit: rate.limit,
                remaining: (rate.burst_us().saturating_sub(ahead_us) / rate.emission_us())
                    .min(rate.limit),
                reset_secs: ceil_secs(ahead_us),
                retry_after_secs: None,
            },
            Outcome::Denied { wait_us } => Self {
                limit: rate.limit,
                remaining: 0,
                reset_secs: ceil_secs(wait_us + rate.burst_us() - rate.emission_us()),
                retry_after_secs: Some(ceil_secs(wait_us).max(1)),
            },
        }
    }
}

#[cfg(test)]
#[path = "gcra_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `requests` (arrival times in µs) through one key and returns the admitted times.
    fn admitted(rate: Rate, requests: impl IntoIterator<Item = u64>) -> Vec<u64> {
        let mut tat = None;
        let mut out = Vec::new();
        for now in requests {
            if let (Outcome::Allowed { .. }, new_tat) = check(tat, now, rate) {
                tat = new_tat;
                out.push(now);
            }
        }
        out
    }

    #[test]
    fn a_full_budget_is_admitted_at_once_and_then_one_per_interval() {
        let rate = Rate::per_minute(20);
        let start = 1_000_000_000;
        // 40 requests within 1.7 s: 20 pass, as across any window edge.
        let burst: Vec<u64> = (0..40).map(|i| start + i * 42_500).collect();
        assert_eq!(admitted(rate, burst).len(), 20);
        // 3 s (one emission interval) after a spent burst, exactly one more.
        let mut times: Vec<u64> = (0..20).map(|_| start).collect();
        times.extend([start + 2_999_999, start + 3_000_000, start + 3_000_001]);
        assert_eq!(admitted(rate, times).len(), 21);
    }

    #[test]
    fn no_period_ever_admits_more_than_the_limit_plus_refill() {
        let rate = Rate::per_minute(10);
        // A request every 100 ms for five minutes.
        let times: Vec<u64> = (0..3000).map(|i| i * 100_000).collect();
        let passed = admitted(rate, times);
        for (i, &t) in passed.iter().enumerate() {
            let in_window = passed[i..]
                .iter()
                .take_while(|&&u| u < t + rate.period_us)
                .count();
            // At most the burst plus what refills during the minute itself.
            assert!(
                in_window <= 20,
                "{in_window} admitted in one minute from {t}"
            );
        }
        // The burst of 10, then one every 6 s: at 6 s, 12 s, ... 294 s.
        assert_eq!(passed.len(), 59);
    }

    #[test]
    fn budgets_report_remaining_reset_and_retry_after() {
        let rate = Rate::per_minute(3);
        let (first, tat) = check(None, 0, rate);
        let budget = Budget::from_outcome(first, rate);
        assert_eq!(
            (budget.limit, budget.remaining, budget.reset_secs),
            (3, 2, 20)
        );
        assert!(!budget.exceeded());
        let (_, tat) = check(tat, 0, rate);
        let (third, tat) = check(tat, 0, rate);
        assert_eq!(Budget::from_outcome(third, rate).remaining, 0);
        let (fourth, kept) = check(tat, 5_000_000, rate);
        assert_eq!(kept, None, "a refused request changes nothing");
        let refused = Budget::from_outcome(fourth, rate);
        assert_eq!(refused.retry_after_secs, Some(15));
        assert_eq!((refused.remaining, refused.reset_secs), (0, 55));
    }
}
