//! Helpers shared by the `items_*` tests.

use std::time::Duration;

use aios_app::platform::db;
use entity::{item, item_owner, outbox_event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse, TestUser};

/// Creates an item and returns its JSON (asserting the 201).
pub async fn create(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&body)
        .send()
        .await;
    response.assert_status(201);
    response.json
}

pub async fn create_named(app: &TestApp, user: &TestUser, name: &str) -> Value {
    create(app, user, json!({ "name": name })).await
}

/// Creates `n` items named `{prefix}{i:03}`, one after the other; returns their ids in order.
pub async fn create_many(app: &TestApp, user: &TestUser, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let item = create_named(app, user, &format!("{prefix}{i:03}")).await;
        ids.push(id(&item));
    }
    ids
}

pub fn id(item: &Value) -> String {
    item["id"].as_str().expect("an item id").to_owned()
}

pub async fn get(app: &TestApp, user: &TestUser, id: &str) -> TestResponse {
    app.get(&format!("/api/data/{id}"))
        .bearer(&user.access)
        .send()
        .await
}

pub async fn put(app: &TestApp, user: &TestUser, id: &str, body: Value) -> TestResponse {
    app.put(&format!("/api/data/{id}"))
        .bearer(&user.access)
        .json(&body)
        .send()
        .await
}

pub async fn delete(app: &TestApp, user: &TestUser, id: &str) -> TestResponse {
    app.delete(&format!("/api/data/{id}"))
        .bearer(&user.access)
        .send()
        .await
}

/// `GET /api/data?{query}`, asserting a 200.
pub async fn list(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let response = app
        .get(&format!("/api/data?{query}"))
        .bearer(&user.access)
        .send()
        .await;
    response.assert_status(200);
    response.json
}

/// The ids of a page, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect()
}

/// The ids of every live item of `user`, in the default order.
pub async fn all_ids(app: &TestApp, user: &TestUser) -> Vec<String> {
    ids(&list(app, user, "limit=100").await)
}

pub async fn batch(app: &TestApp, user: &TestUser, query: &str, operations: Value) -> TestResponse {
    app.post(&format!("/api/data/batch{query}"))
        .bearer(&user.access)
        .json(&json!({ "operations": operations }))
        .send()
        .await
}

/// `GET /api/data/changes?{query}`, asserting a 200.
pub async fn changes(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let response = app
        .get(&format!("/api/data/changes?{query}"))
        .bearer(&user.access)
        .send()
        .await;
    response.assert_status(200);
    response.json
}

/// A query-string-safe cursor.
pub fn encode(cursor: &str) -> String {
    form_urlencoded::byte_serialize(cursor.as_bytes()).collect()
}

/// The `data:created` events stored for each of `ids`, as counts.
pub async fn created_events(app: &TestApp, ids: &[String]) -> Vec<usize> {
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("data:created"))
        .all(&*app.state.db)
        .await
        .unwrap();
    ids.iter()
        .map(|id| {
            events
                .iter()
                .filter(|e| e.payload == json!({ "dataId": id }))
                .count()
        })
        .collect()
}

/// Every `data:created` event in the outbox.
pub async fn all_created_events(app: &TestApp) -> usize {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("data:created"))
        .all(&*app.state.db)
        .await
        .unwrap()
        .len()
}

/// The row of an item, tombstones included.
pub async fn row(app: &TestApp, id: &str) -> Option<item::Model> {
    item::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&*app.state.db)
        .await
        .unwrap()
}

/// The owner's change counter, live count and purge mark.
pub async fn owner_state(app: &TestApp, user: &TestUser) -> Option<item_owner::Model> {
    item_owner::Entity::find_by_id(user.id)
        .one(&*app.state.db)
        .await
        .unwrap()
}

/// Waits until some connection waits on a lock (PostgreSQL), so that the interleaving under
/// test really happens. SQLite writers wait inside `BEGIN IMMEDIATE`, which cannot be observed.
pub async fn until_someone_waits_on_a_lock(app: &TestApp) {
    if !app.is_postgres() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return;
    }
    let conn = &*app.state.db;
    let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity \
               WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for _ in 0..200 {
        let row = conn
            .query_one_raw(db::statement(conn, sql, []))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no connection ever waited on a lock");
}
