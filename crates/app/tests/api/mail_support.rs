//! Shared by the mail tests: waiting for `/health` to report the mail provider's circuit, and
//! the mail jobs given up on.

use std::time::{Duration, Instant};

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

/// The jobs in `state` (up to 100), read as an operator would: from
/// `GET /api/admin/jobs?state=...`.
pub async fn jobs_in(app: &TestApp, state: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let response = app
        .get(&format!("/api/admin/jobs?state={state}&limit=100"))
        .bearer(&admin.access)
        .send()
        .await;
    response.assert_status(200);
    response.json["items"]
        .as_array()
        .expect("a page of jobs")
        .clone()
}

/// The mail jobs given up on (dead), as `(type, last error)`.
pub async fn given_up(app: &TestApp) -> Vec<(String, String)> {
    jobs_in(app, "dead")
        .await
        .iter()
        .map(|job| {
            (
                job["type"].as_str().unwrap_or_default().to_owned(),
                job["lastError"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
