//! Time, truncated to what both databases store (microseconds), so that a value returned at
//! creation equals the value read back later.

use chrono::{DateTime, SubsecRound, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
