//! Shared by the mail tests: waiting for `/health` to report the mail provider's circuit, and
//! the events the outbox gave up on.

use std::time::{Duration, Instant};

use entity::outbox_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::helpers::TestApp;

/// Polls `/health` until `providers.mail` is `state` (up to `limit`), and returns the report.
pub async fn wait_for_mail_circuit(app: &TestApp, state: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let health = app.get("/health").send().await.json;
        if health["providers"]["mail"] == state {
            return health;
        }
        assert!(
            started.elapsed() < limit,
            "the mail circuit is not {state}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events the in-repo outbox gave up on, with their errors. The one place the mail tests
/// look past HTTP: there is no jobs endpoint yet (`GET /api/admin/jobs` will show the same).
pub async fn given_up(app: &TestApp) -> Vec<(String, String)> {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::ProcessedAt.is_not_null())
        .filter(outbox_event::Column::LastError.is_not_null())
        .all(&*app.state.db)
        .await
        .expect("reading the outbox")
        .into_iter()
        .map(|e| (e.event_type, e.last_error.unwrap_or_default()))
        .collect()
}
