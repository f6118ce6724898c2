//! `Idempotency-Key` on `POST /api/data` and `POST /api/data/batch`: once per user and key,
//! replays, 422 on a different body, 409 while in flight, stored with the item in one
//! transaction, expired keys purged.

use aios_app::items::dto::ItemInput;
use aios_app::items::repo;
use aios_app::platform::jobs::schedule::ScheduledTask as _;
use aios_app::platform::{db, idempotency};
use chrono::{TimeDelta, Utc};
use entity::idempotency_key::{self, KeyState};
use futures::future::join_all;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{self, TestApp, TestResponse, TestUser};
use crate::items_support::*;

async fn post_with_key(app: &TestApp, user: &TestUser, key: &str, body: &Value) -> TestResponse {
    app.post("/api/data")
        .bearer(&user.access)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
}

async fn key_row(app: &TestApp, user: &TestUser, key: &str) -> Option<idempotency_key::Model> {
    idempotency_key::Entity::find_by_id((user.id.to_string(), key.to_owned()))
        .one(&*app.state.db)
        .await
        .unwrap()
}

/// Changes a stored key's timestamps, as time passing would.
async fn set_times(
    app: &TestApp,
    user: &TestUser,
    key: &str,
    column: idempotency_key::Column,
    at: chrono::DateTime<Utc>,
) {
    idempotency_key::Entity::update_many()
        .col_expr(column, Expr::value(at))
        .filter(idempotency_key::Column::Scope.eq(user.id.to_string()))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(&*app.state.db)
        .await
        .unwrap();
}

fn replayed(response: &TestResponse) -> bool {
    response.header("idempotent-replayed") == Some("true")
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_stored_response() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let body = json!({ "name": "once", "data": { "n": 1 } });
    let first = post_with_key(&app, &user, "key-1", &body).await;
    first.assert_status(201);
    assert!(!replayed(&first));
    let stored = key_row(&app, &user, "key-1")
        .await
        .expect("stored in the database");
    assert_eq!(
        (stored.state, stored.response_status),
        (KeyState::Completed, Some(201))
    );
    for _ in 0..2 {
        let retry = post_with_key(&app, &user, "key-1", &body).await;
        retry.assert_status(201);
        assert!(replayed(&retry));
        assert_eq!(retry.json, first.json, "the same item, not a new one");
        assert_eq!(retry.header("location"), first.header("location"));
        assert_eq!(retry.header("etag"), first.header("etag"));
        assert_eq!(retry.header("content-type"), Some("application/json"));
    }
    // Once read from the database, the answer is cached in front of it.
    idempotency_key::Entity::delete_by_id((user.id.to_string(), "key-1".to_owned()))
        .exec(&*app.state.db)
        .await
        .unwrap();
    let cached = post_with_key(&app, &user, "key-1", &body).await;
    assert!(replayed(&cached));
    assert_eq!(cached.json, first.json);
    assert_eq!(all_ids(&app, &user).await, [id(&first.json)]);
    assert_eq!(all_created_events(&app).await, 1);
    // A new key is a new request.
    let second = post_with_key(&app, &user, "key-2", &body).await;
    second.assert_status(201);
    assert_ne!(id(&second.json), id(&first.json));
}

#[tokio::test]
async fn the_same_key_with_a_different_body_or_route_is_422() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    post_with_key(&app, &user, "k", &json!({ "name": "a" }))
        .await
        .assert_status(201);
    for body in [
        json!({ "name": "b" }),
        json!({ "name": "a", "description": "x" }),
    ] {
        post_with_key(&app, &user, "k", &body)
            .await
            .assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
    }
    let in_batch = app
        .post("/api/data/batch")
        .bearer(&user.access)
        .header("idempotency-key", "k")
        .json(&json!({ "operations": [{ "op": "create", "body": { "name": "a" } }] }))
        .send()
        .await;
    in_batch.assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
    // Semantically equal bodies are the same request: names are trimmed.
    let same = post_with_key(&app, &user, "k", &json!({ "name": "  a " })).await;
    assert!(replayed(&same));
    assert_eq!(all_ids(&app, &user).await.len(), 1);
}

#[tokio::test]
async fn keys_are_scoped_to_their_user() {
    let app = TestApp::spawn().await;
    let alice = app.register().await;
    let bob = app.register().await;
    let body = json!({ "name": "same" });
    let hers = post_with_key(&app, &alice, "shared", &body).await;
    let his = post_with_key(&app, &bob, "shared", &body).await;
    his.assert_status(201);
    assert!(!replayed(&his), "not Alice's answer");
    assert_ne!(id(&his.json), id(&hers.json));
    assert_eq!(all_ids(&app, &bob).await, [id(&his.json)]);
    post_with_key(&app, &bob, "shared", &json!({ "name": "other" }))
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
}

#[tokio::test]
async fn a_key_still_in_flight_is_409_until_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let input = ItemInput {
        name: "x".into(),
        description: None,
        data: None,
    };
    let now = Utc::now();
    // Another request claimed this key and is still running.
    idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        scope: Set(user.id.to_string()),
        key: Set("busy".into()),
        request_hash: Set(idempotency::request_hash(
            &app.state,
            "POST",
            "/api/data",
            &input,
        )),
        state: Set(KeyState::InProgress),
        response_status: Set(None),
        response_body: Set(None),
        response_headers: Set(None),
        response_bytes: Set(0),
        locked_until: Set(now + TimeDelta::minutes(1)),
        created_at: Set(now),
        expires_at: Set(now + TimeDelta::hours(24)),
    })
    .exec_without_returning(&*app.state.db)
    .await
    .unwrap();
    let busy = post_with_key(&app, &user, "busy", &json!({ "name": "x" })).await;
    busy.assert_error(409, "IDEMPOTENCY_IN_PROGRESS");
    assert!(busy.header("retry-after").is_some());
    post_with_key(&app, &user, "busy", &json!({ "name": "y" }))
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
    assert!(all_ids(&app, &user).await.is_empty(), "nothing ran");

    // The request that held it died: once its lease is over, a retry runs.
    set_times(
        &app,
        &user,
        "busy",
        idempotency_key::Column::LockedUntil,
        now - TimeDelta::seconds(1),
    )
    .await;
    let retry = post_with_key(&app, &user, "busy", &json!({ "name": "x" })).await;
    retry.assert_status(201);
    assert!(!replayed(&retry));
    assert!(replayed(
        &post_with_key(&app, &user, "busy", &json!({ "name": "x" })).await
    ));
    assert_eq!(all_ids(&app, &user).await.len(), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_item() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let body = json!({ "name": "racing" });
    let responses = join_all((0..6).map(|_| post_with_key(&app, &user, "race", &body))).await;
    let fresh: Vec<&TestResponse> = responses
        .iter()
        .filter(|r| r.status == 201 && !replayed(r))
        .collect();
    assert_eq!(fresh.len(), 1, "executed once: {responses:?}");
    let item = id(&fresh[0].json);
    for other in responses.iter().filter(|r| replayed(r) || r.status != 201) {
        if other.status == 201 {
            assert_eq!(id(&other.json), item, "a replay of the one execution");
        } else {
            other.assert_error(409, "IDEMPOTENCY_IN_PROGRESS");
        }
    }
    assert_eq!(all_ids(&app, &user).await, [item.as_str()]);
    assert_eq!(created_events(&app, &[item]).await, [1]);
}

#[tokio::test]
async fn a_failed_request_gives_its_key_back() {
    let app = TestApp::builder()
        .env("MAX_ITEMS_PER_USER", "1")
        .spawn()
        .await;
    let user = app.register().await;
    let first = id(&create_named(&app, &user, "fills the quota").await);
    let body = json!({ "name": "later" });
    post_with_key(&app, &user, "k", &body)
        .await
        .assert_error(403, "QUOTA_EXCEEDED");
    assert!(
        key_row(&app, &user, "k").await.is_none(),
        "no key without its item"
    );
    delete(&app, &user, &first).await.assert_status(204);
    let retry = post_with_key(&app, &user, "k", &body).await;
    retry.assert_status(201);
    assert!(!replayed(&retry), "the error was not stored as the answer");
}

#[tokio::test]
async fn the_item_is_rolled_back_when_its_key_cannot_be_completed() {
    let app = TestApp::spawn().await;
    if !helpers::require_services("PostgreSQL", app.is_postgres()) {
        return;
    }
    let user = app.register().await;
    let existing = create_named(&app, &user, "existing").await;
    // Hold the owner's change counter so that the request stops between claim and insert.
    let txn = db::begin_write(&app.state.db).await.unwrap();
    repo::next_seq(&txn, entity::UserId(user.id), 0)
        .await
        .unwrap();
    let body = json!({ "name": "orphan?" });
    let request = post_with_key(&app, &user, "k", &body);
    let takeover = async {
        while key_row(&app, &user, "k").await.is_none() {
            tokio::task::yield_now().await;
        }
        until_someone_waits_on_a_lock(&app).await;
        // Meanwhile its lease ran out and another request took the key over.
        let later = Utc::now() + TimeDelta::hours(1);
        set_times(
            &app,
            &user,
            "k",
            idempotency_key::Column::LockedUntil,
            later,
        )
        .await;
        txn.rollback().await.unwrap();
    };
    let (response, ()) = tokio::join!(request, takeover);
    response.assert_error(500, "INTERNAL");
    assert_eq!(
        all_ids(&app, &user).await,
        [id(&existing)],
        "no item without its key"
    );
    assert_eq!(all_created_events(&app).await, 1, "nor its event");
    let row = key_row(&app, &user, "k")
        .await
        .expect("the new owner's claim is left alone");
    assert_eq!(row.state, KeyState::InProgress);
}

#[tokio::test]
async fn expired_keys_run_again_and_are_purged() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let body = json!({ "name": "n" });
    let first = post_with_key(&app, &user, "old", &body).await;
    post_with_key(&app, &user, "fresh", &body)
        .await
        .assert_status(201);
    post_with_key(&app, &user, "purged", &body)
        .await
        .assert_status(201);
    let past = Utc::now() - TimeDelta::hours(25);
    for key in ["old", "purged"] {
        set_times(&app, &user, key, idempotency_key::Column::CreatedAt, past).await;
        set_times(
            &app,
            &user,
            key,
            idempotency_key::Column::ExpiresAt,
            past + TimeDelta::hours(24),
        )
        .await;
    }
    // Past 24 h the key is spent: the same request runs again.
    let again = post_with_key(&app, &user, "old", &body).await;
    again.assert_status(201);
    assert!(!replayed(&again));
    assert_ne!(id(&again.json), id(&first.json));

    aios_app::jobs::PurgeExpired.run(&app.state).await.unwrap();
    assert!(
        key_row(&app, &user, "purged").await.is_none(),
        "expired: purged"
    );
    assert!(
        key_row(&app, &user, "fresh").await.is_some(),
        "within 24 h: kept"
    );
    assert!(
        key_row(&app, &user, "old").await.is_some(),
        "re-used: a new 24 h"
    );
    assert!(replayed(&post_with_key(&app, &user, "fresh", &body).await));
}

#[tokio::test]
async fn the_key_must_be_1_to_255_visible_characters() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let body = json!({ "name": "k" });
    for bad in [String::new(), "k".repeat(256)] {
        let response = post_with_key(&app, &user, &bad, &body).await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["Idempotency-Key"]);
    }
    for good in [
        "k".repeat(255),
        "a".into(),
        "550e8400-e29b-41d4-a716-446655440000".into(),
    ] {
        post_with_key(&app, &user, &good, &body)
            .await
            .assert_status(201);
    }
    assert_eq!(all_ids(&app, &user).await.len(), 3);
}

#[tokio::test]
async fn batches_honour_the_key_too() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let send = |operations: Value| {
        app.post("/api/data/batch")
            .bearer(&user.access)
            .header("idempotency-key", "b")
            .json(&json!({ "operations": operations }))
            .send()
    };
    let ops = json!([{ "op": "create", "body": { "name": "one" } }, { "op": "create", "body": { "name": "two" } }]);
    let first = send(ops.clone()).await;
    first.assert_status(200);
    let retry = send(ops).await;
    assert!(replayed(&retry));
    assert_eq!(retry.json, first.json);
    assert_eq!(all_ids(&app, &user).await.len(), 2, "applied once");
    send(json!([{ "op": "create", "body": { "name": "three" } }]))
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
}
