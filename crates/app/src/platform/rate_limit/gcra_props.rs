//! Properties of the rate limiter for arbitrary arrival sequences. GCRA promises a budget of
//! `limit` that refills continuously, one request per emission interval `T = period/limit`:
//! over any stretch of time `L`, at most `limit + L/T` requests are admitted (a full burst,
//! plus what refilled meanwhile), so at most `limit` within any `T` and at most `2 * limit`
//! within any period. And it is not stricter than promised: requests never closer than `T`
//! are all admitted, and a fresh key admits a burst of exactly `limit`.

use proptest::prelude::*;

use super::{Budget, Outcome, Rate, check};

fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        (1u64..=200).prop_map(Rate::per_minute),
        // Periods that `limit` does not divide, down to one microsecond per request (the
        // clock's resolution: finer rates cannot be expressed).
        (1u64..=50, 0u64..=10_000_000).prop_map(|(limit, extra)| Rate {
            limit,
            period_us: limit + extra
        }),
        // The largest configurable limits, where rounding the interval matters most.
        (7_000_000u64..=10_000_000).prop_map(Rate::per_minute),
    ]
}

/// Arrival times in µs: bursts and gaps, not necessarily in order (clocks of several
/// instances, or one that steps back).
fn arrivals() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(0u64),
            4 => 0u64..10_000,
            2 => 0u64..2_000_000,
            1 => 0u64..120_000_000,
        ],
        1..400,
    )
    .prop_flat_map(|gaps| {
        let times: Vec<u64> = gaps
            .iter()
            .scan(1_000_000_000u64, |t, gap| {
                *t += gap;
                Some(*t)
            })
            .collect();
        (Just(times), any::<bool>())
    })
    .prop_perturb(|(mut times, shuffle), mut rng| {
        if shuffle {
            // A few steps back in time.
            for _ in 0..times.len() / 10 {
                let i = rng.random_range(0..times.len());
                times[i] = times[i].saturating_sub(rng.random_range(0..5_000_000));
            }
        }
        times
    })
}

/// Runs the arrivals through one key; returns the admitted times and the outcomes.
fn run(rate: Rate, arrivals: &[u64]) -> (Vec<u64>, Vec<Outcome>) {
    let mut tat = None;
    let mut admitted = Vec::new();
    let mut outcomes = Vec::new();
    for &now in arrivals {
        let (outcome, new_tat) = check(tat, now, rate);
        if let Outcome::Allowed { .. } = outcome {
            tat = new_tat;
            admitted.push(now);
        } else {
            assert_eq!(new_tat, None, "a refusal stores nothing");
        }
        outcomes.push(outcome);
    }
    (admitted, outcomes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_stretch_of_time_admits_more_than_the_budget_and_its_refill(
        rate in rate(),
        arrivals in arrivals(),
    ) {
        let (mut admitted, _) = run(rate, &arrivals);
        admitted.sort_unstable();
        let t = rate.emission_us();
        for (i, &from) in admitted.iter().enumerate() {
            for (j, &to) in admitted.iter().enumerate().skip(i) {
                let n = (j - i + 1) as u64;
                // n admitted within [from, to]: the budget allows limit + (to - from) / T.
                let allowed = rate.limit + (to - from) / t;
                prop_assert!(n <= allowed, "{} admitted in {} µs at {:?}", n, to - from, rate);
            }
        }
        // The window the documentation names: never more than limit within one emission
        // interval, never more than twice the limit within one period.
        for (i, &from) in admitted.iter().enumerate() {
            let in_interval = admitted[i..].iter().take_while(|&&u| u < from + t).count() as u64;
            let in_period = admitted[i..].iter().take_while(|&&u| u < from + rate.period_us).count() as u64;
            prop_assert!(in_interval <= rate.limit, "{} within one interval", in_interval);
            prop_assert!(in_period <= 2 * rate.limit, "{} within one period", in_period);
        }
    }

    #[test]
    fn a_fresh_key_admits_exactly_a_full_burst(
        rate in rate().prop_filter("a burst this test can afford", |r| r.limit <= 5_000),
        extra in 1usize..50,
    ) {
        let burst = vec![5_000_000u64; rate.limit as usize + extra];
        let (admitted, outcomes) = run(rate, &burst);
        prop_assert_eq!(admitted.len() as u64, rate.limit);
        // What is refused says when one more would pass: within one emission interval.
        for outcome in &outcomes[rate.limit as usize..] {
            match *outcome {
                Outcome::Denied { wait_us } => prop_assert!(wait_us >= 1 && wait_us <= rate.emission_us()),
                Outcome::Allowed { .. } => prop_assert!(false, "admitted past the burst"),
            }
        }
    }

    #[test]
    fn requests_spaced_by_the_interval_are_all_admitted(
        rate in rate(),
        gaps in prop::collection::vec(0u64..1_000_000, 1..200),
    ) {
        let t = rate.emission_us();
        let times: Vec<u64> = gaps
            .iter()
            .scan(0u64, |at, gap| {
                *at += t + gap;
                Some(*at)
            })
            .collect();
        let (admitted, _) = run(rate, &times);
        prop_assert_eq!(admitted.len(), times.len());
    }

    #[test]
    fn the_headers_agree_with_the_decision(rate in rate(), arrivals in arrivals()) {
        let mut tat = None;
        for &now in &arrivals {
            let (outcome, new_tat) = check(tat, now, rate);
            let budget = Budget::from_outcome(outcome, rate);
            match outcome {
                Outcome::Allowed { .. } => {
                    prop_assert!(!budget.exceeded());
                    prop_assert!(budget.remaining < rate.limit, "this request used one");
                    tat = new_tat;
                }
                Outcome::Denied { .. } => {
                    prop_assert!(budget.exceeded());
                    prop_assert_eq!(budget.remaining, 0);
                    prop_assert!(budget.retry_after_secs.is_some_and(|s| s >= 1));
                }
            }
        }
    }
}

/// Found by the properties: with the period as the tolerance, a limit that does not divide it
/// let a larger burst through (9,999 per minute: an interval of 6,000 µs, and 60 s / 6,000 µs
/// = 10,000 at once). The tolerance is now `limit` intervals.
#[test]
fn a_limit_that_does_not_divide_the_period_still_bursts_exactly_the_limit() {
    for limit in [7, 9_999, 7_777_777, 9_999_999] {
        let rate = Rate::per_minute(limit);
        let burst = vec![0u64; limit as usize + 10];
        assert_eq!(
            run(rate, &burst).0.len() as u64,
            limit,
            "{limit} per minute"
        );
    }
}
