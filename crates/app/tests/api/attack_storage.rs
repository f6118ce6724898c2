//! Issue 7, items 8 and 11: stored idempotent responses are sealed, bound to their scope and
//! key, and capped per user; the embedded database is private to the server's user.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

async fn create_with_key(
    app: &TestApp,
    user: &TestUser,
    key: &str,
    body: &Value,
) -> crate::helpers::TestResponse {
    app.post("/api/data")
        .bearer(&user.access)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
}

async fn stored_rows(app: &TestApp, scope: &str) -> Vec<entity::idempotency_key::Model> {
    entity::idempotency_key::Entity::find()
        .filter(entity::idempotency_key::Column::Scope.eq(scope))
        .all(&*app.state.db)
        .await
        .expect("reading idempotency keys")
}

#[tokio::test]
async fn stored_responses_are_capped_per_user_dropping_the_oldest_first() {
    let cap = 128 * 1024;
    let app = TestApp::builder()
        .env("IDEMPOTENCY_MAX_BYTES_PER_USER", &cap.to_string())
        .spawn()
        .await;
    let user = app.register().await;
    // Fifteen creates of ~20 KiB each: about 400 KiB of responses to keep.
    let body = json!({ "name": "big", "data": { "blob": "x".repeat(20 * 1024) } });
    for n in 0..15 {
        create_with_key(&app, &user, &format!("key-{n}"), &body)
            .await
            .assert_status(201);
    }
    let rows = stored_rows(&app, &user.id.to_string()).await;
    let held: usize = rows
        .iter()
        .map(|r| r.response_body.as_deref().map_or(0, str::len))
        .sum();
    assert!(held <= cap, "{held} bytes stored against a cap of {cap}");
    assert!(
        rows.len() < 15 && !rows.is_empty(),
        "{} keys kept",
        rows.len()
    );
    // The newest key still replays; the oldest was dropped and runs again.
    let newest = create_with_key(&app, &user, "key-14", &body).await;
    newest.assert_status(201);
    assert_eq!(newest.header("idempotent-replayed"), Some("true"));
    let oldest = create_with_key(&app, &user, "key-0", &body).await;
    oldest.assert_status(201);
    assert_eq!(oldest.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn every_stored_response_is_sealed_and_opens_only_for_its_own_scope_and_key() {
    let app = TestApp::spawn().await;
    let alice = app.register().await;
    let mallory = app.register().await;
    let body = json!({ "name": "alice's secret groceries" });
    let created = create_with_key(&app, &alice, "k1", &body).await;
    created.assert_status(201);
    let rows = stored_rows(&app, &alice.id.to_string()).await;
    let stored = rows[0].response_body.clone().unwrap_or_default();
    assert!(stored.starts_with("sealed:"), "{stored}");
    assert!(!stored.contains("secret groceries"));

    // The row copied onto Mallory's scope, and onto another key of Alice's, never replays.
    for (scope, key) in [(mallory.id.to_string(), "k1"), (alice.id.to_string(), "k2")] {
        let mut copy = rows[0].clone().into_active_model();
        copy.scope = sea_orm::ActiveValue::Set(scope);
        copy.key = sea_orm::ActiveValue::Set(key.to_owned());
        copy.insert(&*app.state.db).await.expect("copying the row");
    }
    let stolen = create_with_key(&app, &mallory, "k1", &body).await;
    assert!(
        !stolen
            .text
            .contains(created.json["id"].as_str().unwrap_or("-"))
    );
    stolen.assert_error(500, "INTERNAL");
    let moved = create_with_key(&app, &alice, "k2", &body).await;
    moved.assert_error(500, "INTERNAL");
}

#[cfg(unix)]
#[tokio::test]
async fn the_embedded_database_is_readable_by_the_server_s_user_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().expect("temporary directory");
    let data_dir = parent.path().join("fresh").join("data");
    let app = TestApp::builder()
        .embedded()
        .env("DATA_DIR", &data_dir.display().to_string())
        .spawn()
        .await;
    app.register().await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    assert_eq!(mode(&data_dir), 0o700, "DATA_DIR");
    for file in ["aios.db", "aios.db-wal", "aios.db-shm"] {
        let path = data_dir.join(file);
        if file == "aios.db" || path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        }
    }
}
