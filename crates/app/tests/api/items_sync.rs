//! Delta sync, `GET /api/data/changes`: every change after the cursor in commit order,
//! tombstones for deletions, paging, concurrent writers, and the retention of tombstones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use aios_app::items::dto::ItemInput;
use aios_app::items::{jobs, service};
use aios_app::platform::db;
use aios_app::platform::jobs::schedule::ScheduledTask as _;
use chrono::{TimeDelta, Utc};
use entity::item;
use futures::future::join_all;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::items_support::*;

/// `(id, op)` of each change of a page.
fn ops(page: &Value) -> Vec<(String, String)> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (id(c), c["op"].as_str().unwrap().to_owned()))
        .collect()
}

fn upsert(id: &str) -> (String, String) {
    (id.to_owned(), "upsert".to_owned())
}

fn deletion(id: &str) -> (String, String) {
    (id.to_owned(), "delete".to_owned())
}

fn since(page: &Value) -> String {
    format!("since={}", encode(page["cursor"].as_str().unwrap()))
}

#[tokio::test]
async fn a_first_sync_lists_live_items_and_later_ones_every_change_in_order() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let a = id(&create_named(&app, &user, "a").await);
    let b = id(&create_named(&app, &user, "b").await);
    let c = id(&create_named(&app, &user, "c").await);
    delete(&app, &user, &c).await.assert_status(204);
    let first = changes(&app, &user, "").await;
    assert_eq!(
        ops(&first),
        [upsert(&a), upsert(&b)],
        "no tombstones in a first sync"
    );
    assert_eq!(first["hasMore"], false);
    assert_eq!(first["changes"][0]["item"], get(&app, &user, &a).await.json);
    assert_eq!(
        first["changes"][0]["at"],
        first["changes"][0]["item"]["updatedAt"]
    );
    assert_eq!(
        changes(&app, &user, "since=").await["changes"],
        first["changes"],
        "empty since: first sync"
    );

    put(&app, &user, &a, json!({ "name": "a2" }))
        .await
        .assert_status(200);
    delete(&app, &user, &b).await.assert_status(204);
    let d = id(&create_named(&app, &user, "d").await);
    put(&app, &user, &d, json!({ "name": "d2" }))
        .await
        .assert_status(200);
    let second = changes(&app, &user, &since(&first)).await;
    assert_eq!(
        ops(&second),
        [upsert(&a), deletion(&b), upsert(&d)],
        "in commit order, each item once in its latest state"
    );
    assert_eq!(second["changes"][0]["item"]["version"], 2);
    assert!(
        second["changes"][1].get("item").is_none(),
        "a tombstone has no item"
    );
    assert_eq!(
        second["changes"][1]["at"],
        json!(row(&app, &b).await.unwrap().deleted_at)
    );
    assert_eq!(second["changes"][2]["item"]["name"], "d2");

    let third = changes(&app, &user, &since(&second)).await;
    assert_eq!(third["changes"], json!([]));
    assert_eq!(third["hasMore"], false);
    let fourth = changes(&app, &user, &since(&third)).await;
    assert_eq!(
        fourth["changes"],
        json!([]),
        "an empty answer's cursor works too"
    );
    // The old cursor still works: the same changes again.
    assert_eq!(
        ops(&changes(&app, &user, &since(&first)).await),
        ops(&second)
    );
}

#[tokio::test]
async fn changes_come_in_pages_with_has_more() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let created = create_many(&app, &user, "s", 25).await;
    let mut seen = Vec::new();
    let mut query = "limit=10".to_owned();
    for (size, more) in [(10, true), (10, true), (5, false)] {
        let page = changes(&app, &user, &query).await;
        assert_eq!(page["changes"].as_array().unwrap().len(), size);
        assert_eq!(page["hasMore"], more);
        seen.extend(ops(&page).into_iter().map(|(id, _)| id));
        query = format!("limit=10&{}", since(&page));
    }
    assert_eq!(seen, created, "every item once, in order");
    for id in &created[..12] {
        delete(&app, &user, id).await.assert_status(204);
    }
    let page = changes(&app, &user, &query).await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 10);
    assert_eq!(page["hasMore"], true);
    let rest = changes(&app, &user, &format!("limit=10&{}", since(&page))).await;
    assert_eq!(ops(&rest), [deletion(&created[10]), deletion(&created[11])]);
    assert_eq!(
        changes(&app, &user, "").await["changes"]
            .as_array()
            .unwrap()
            .len(),
        13
    );
    assert_eq!(
        changes(&app, &user, "").await["hasMore"],
        false,
        "default page is 100"
    );
}

fn input(name: &str) -> ItemInput {
    ItemInput {
        name: name.to_owned(),
        description: None,
        data: None,
    }
}

#[tokio::test]
async fn a_change_that_commits_late_is_not_skipped() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    create_named(&app, &user, "before").await;
    let start = changes(&app, &user, "").await;

    // A slow writer takes its change number and keeps its transaction open...
    let txn = db::begin_write(&app.state.db).await.unwrap();
    let slow = service::create_in(&txn, &app.state, entity::UserId(user.id), input("slow"))
        .await
        .unwrap();
    // ...while a fast writer starts after it and a client syncs meanwhile.
    let fast = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "fast" }))
        .send();
    let sync_then_commit = async {
        until_someone_waits_on_a_lock(&app).await;
        let during = changes(&app, &user, &since(&start)).await;
        txn.commit().await.unwrap();
        during
    };
    let (fast, during) = tokio::join!(fast, sync_then_commit);
    fast.assert_status(201);
    let fast = id(&fast.json);
    assert_eq!(
        during["changes"],
        json!([]),
        "nothing uncommitted is visible"
    );
    let after = changes(&app, &user, &since(&during)).await;
    assert_eq!(
        ops(&after),
        [upsert(&slow.id.to_string()), upsert(&fast)],
        "the late commit is reported, before the change that waited for it"
    );
}

#[tokio::test]
async fn a_client_syncing_during_concurrent_writes_ends_up_with_the_server_state() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let seeded = create_many(&app, &user, "seed", 8).await;
    let mut replica: HashMap<String, Value> = HashMap::new();
    let apply = |replica: &mut HashMap<String, Value>, page: &Value| {
        for change in page["changes"].as_array().unwrap() {
            match change["op"].as_str().unwrap() {
                "upsert" => replica.insert(id(change), change["item"].clone()),
                _ => replica.remove(&id(change)),
            };
        }
    };
    let first = changes(&app, &user, "").await;
    apply(&mut replica, &first);
    let done = AtomicBool::new(false);
    let writers = async {
        join_all((0..4).map(|w| write_a_little(&app, &user, w, &seeded))).await;
        done.store(true, Ordering::SeqCst);
    };
    let client = async {
        let mut cursor = first;
        let mut polls = 0;
        loop {
            let finished = done.load(Ordering::SeqCst);
            let page = changes(&app, &user, &format!("limit=3&{}", since(&cursor))).await;
            apply(&mut replica, &page);
            polls += 1;
            let more = page["hasMore"] == true;
            cursor = page;
            if finished && !more {
                return polls;
            }
        }
    };
    let ((), polls) = tokio::join!(writers, client);
    assert!(polls > 1);
    let server: HashMap<String, Value> = list(&app, &user, "limit=100").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (id(item), item.clone()))
        .collect();
    assert_eq!(replica.len(), server.len());
    assert_eq!(replica, server, "the replica matches, versions included");
}

/// Creates, updates and deletes a few items, one request at a time.
async fn write_a_little(app: &TestApp, user: &TestUser, w: usize, seeded: &[String]) {
    for i in 0..4 {
        let item = id(&create_named(app, user, &format!("w{w}-{i}")).await);
        put(app, user, &item, json!({ "name": format!("w{w}-{i}'") }))
            .await
            .assert_status(200);
        if i % 2 == 0 {
            delete(app, user, &item).await.assert_status(204);
        }
    }
    put(
        app,
        user,
        &seeded[w],
        json!({ "name": format!("seed by {w}") }),
    )
    .await
    .assert_status(200);
    delete(app, user, &seeded[w + 4]).await.assert_status(204);
}

#[tokio::test]
async fn tombstones_past_retention_are_purged_and_older_cursors_get_410() {
    let app = TestApp::builder()
        .env("SYNC_RETENTION_DAYS", "1")
        .spawn()
        .await;
    let user = app.register().await;
    let old = id(&create_named(&app, &user, "old").await);
    let young = id(&create_named(&app, &user, "young").await);
    let kept = id(&create_named(&app, &user, "kept").await);
    let before_deletes = changes(&app, &user, "").await;
    delete(&app, &user, &old).await.assert_status(204);
    delete(&app, &user, &young).await.assert_status(204);
    let after_deletes = changes(&app, &user, &since(&before_deletes)).await;
    assert_eq!(ops(&after_deletes), [deletion(&old), deletion(&young)]);

    // The first tombstone is two days old: past the one-day retention.
    item::Entity::update_many()
        .col_expr(
            item::Column::DeletedAt,
            Expr::value(Utc::now() - TimeDelta::days(2)),
        )
        .filter(item::Column::Id.eq(old.parse::<uuid::Uuid>().unwrap()))
        .exec(&*app.state.db)
        .await
        .unwrap();
    let old_seq = row(&app, &old).await.unwrap().change_seq;
    assert_eq!(jobs::purge_tombstones(&app.state).await.unwrap(), 1);
    assert!(row(&app, &old).await.is_none(), "purged");
    assert!(row(&app, &young).await.is_some(), "within retention: kept");
    assert_eq!(owner_state(&app, &user).await.unwrap().purged_seq, old_seq);
    jobs::PurgeTombstones.run(&app.state).await.unwrap();
    assert!(
        row(&app, &young).await.is_some(),
        "running again purges nothing more"
    );

    let expired = app
        .get(&format!("/api/data/changes?{}", since(&before_deletes)))
        .bearer(&user.access)
        .send()
        .await;
    expired.assert_error(410, "SYNC_EXPIRED");
    // A client that had seen the deletion goes on; a full resync starts over.
    let current = changes(&app, &user, &since(&after_deletes)).await;
    assert_eq!(current["changes"], json!([]));
    let full = changes(&app, &user, "").await;
    assert_eq!(ops(&full), [upsert(&kept)]);
    assert_eq!(
        changes(&app, &user, &since(&full)).await["changes"],
        json!([])
    );
}

#[tokio::test]
async fn a_sync_cursor_belongs_to_its_user() {
    let app = TestApp::spawn().await;
    let alice = app.register().await;
    let bob = app.register().await;
    let alices = create_many(&app, &alice, "alice", 3).await;
    create_many(&app, &bob, "bob", 5).await;
    let alice_cursor = changes(&app, &alice, "").await;
    let response = app
        .get(&format!("/api/data/changes?{}", since(&alice_cursor)))
        .bearer(&bob.access)
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(response.detail_paths(), ["since"]);
    let bobs_feed = changes(&app, &bob, "").await;
    for (id, _) in ops(&bobs_feed) {
        assert!(!alices.contains(&id));
    }
    assert_eq!(ops(&bobs_feed).len(), 5);
}
