#![allow(clippy::unwrap_used, reason = "a failing test panics")]

use std::time::Duration;

use tokio::time::advance;

use super::*;

const COOL: Duration = Duration::from_secs(30);

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new(
        "test",
        BreakerConfig {
            failure_threshold: 3,
            cool_down: COOL,
        },
    )
}

fn fail(b: &CircuitBreaker) {
    b.try_acquire().unwrap().failure();
}

#[tokio::test(start_paused = true)]
async fn opens_after_n_consecutive_failures_only() {
    let b = breaker();
    fail(&b);
    fail(&b);
    b.try_acquire().unwrap().success(); // resets the run
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), BreakerState::Closed);
    fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.snapshot().times_opened, 1);
}

#[tokio::test(start_paused = true)]
async fn open_rejects_and_counts_down_without_being_called() {
    let b = breaker();
    (0..3).for_each(|_| fail(&b));
    assert_eq!(b.try_acquire().unwrap_err().retry_in, COOL);
    advance(Duration::from_secs(10)).await;
    assert_eq!(b.retry_in(), Some(Duration::from_secs(20)));
    advance(Duration::from_secs(20)).await;
    // No call was made, yet the job runner sees it is worth trying again.
    assert_eq!((b.state(), b.retry_in()), (BreakerState::HalfOpen, None));
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_one_probe_and_success_closes() {
    let b = breaker();
    (0..3).for_each(|_| fail(&b));
    advance(COOL).await;
    let probe = b.try_acquire().unwrap();
    assert_eq!(
        b.try_acquire().unwrap_err().retry_in,
        COOL,
        "second caller must wait"
    );
    assert_eq!(b.retry_in(), Some(COOL));
    probe.success();
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn failed_probe_reopens_for_a_full_cool_down() {
    let b = breaker();
    (0..3).for_each(|_| fail(&b));
    advance(COOL).await;
    fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.retry_in(), Some(COOL));
    assert_eq!(b.snapshot().times_opened, 2);
}

#[tokio::test(start_paused = true)]
async fn dropped_probe_frees_the_slot() {
    let b = breaker();
    (0..3).for_each(|_| fail(&b));
    advance(COOL).await;
    drop(b.try_acquire().unwrap()); // e.g. the send future was cancelled
    assert_eq!(b.retry_in(), None);
    b.try_acquire().unwrap().success();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn stale_success_does_not_close_half_open() {
    let b = breaker();
    let slow = b.try_acquire().unwrap(); // admitted while closed, answers late
    (0..3).for_each(|_| fail(&b));
    advance(COOL).await;
    slow.success();
    assert_eq!(b.state(), BreakerState::HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn snapshot_serializes_for_health() {
    let b = breaker();
    (0..3).for_each(|_| fail(&b));
    advance(Duration::from_secs(5)).await;
    let json = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"state": "open", "consecutive_failures": 3, "times_opened": 1, "retry_in_ms": 25_000})
    );
    assert_eq!(b.state().as_gauge(), 2);
}
