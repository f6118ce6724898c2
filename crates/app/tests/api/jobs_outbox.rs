//! The outbox relay: every event type that is raised is delivered, so the outbox never piles up
//! pending rows that the relay would skip on every poll.

use serde_json::{Value, json};

use crate::auth_support::wait_for_outbox;
use crate::helpers::TestApp;

#[tokio::test]
async fn the_outbox_stays_bounded_under_a_create_and_delete_loop() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for round in 0..10 {
        let creates: Vec<Value> = (0..100)
            .map(|i| json!({ "op": "create", "body": { "name": format!("r{round}-{i}") } }))
            .collect();
        let created = app
            .post("/api/data/batch")
            .bearer(&user.access)
            .json(&json!({ "operations": creates }))
            .send()
            .await;
        created.assert_status(200);
        let deletes: Vec<Value> = created.json["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| json!({ "op": "delete", "id": r["item"]["id"] }))
            .collect();
        app.post("/api/data/batch")
            .bearer(&user.access)
            .json(&json!({ "operations": deletes }))
            .send()
            .await
            .assert_status(200);
    }
    // A thousand `data:created` events: every one is delivered, none stays pending.
    wait_for_outbox(&app).await;
}
