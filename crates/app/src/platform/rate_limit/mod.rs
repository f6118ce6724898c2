//! Rate-limit budgets: GCRA (see [`gcra`]) kept in the shared cache, so with Redis every
//! instance enforces the same budget. The HTTP tiers are applied by
//! `http::middleware::rate_limit`; per-account budgets by the services that own them. A cache
//! failure lets requests through: availability over strictness.

pub mod gcra;

use entity::UserId;

pub use gcra::Budget;
use gcra::Rate;

use crate::state::AppState;

/// Who a request is counted against, when it is not anonymous: set by the authentication
/// layer once the access token's session is known to be live. A revoked or expired token
/// never gets here, so it is counted against its client's address like any anonymous request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserBudget(pub UserId);

/// Counts one request for `tier`/`id` against `limit` per minute. `None` when the cache
/// could not count.
pub async fn hit(app: &AppState, tier: &str, id: &str, limit: u64) -> Option<Budget> {
    let rate = Rate::per_minute(limit);
    let outcome = app.cache.throttle(&format!("rl:{tier}:{id}"), rate).await?;
    let budget = Budget::from_outcome(outcome, rate);
    if budget.exceeded() {
        crate::platform::metrics::rate_limited(tier);
    }
    Some(budget)
}
