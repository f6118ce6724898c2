//! `POST /api/data/batch`: 1..100 operations, all or nothing in one transaction by default,
//! best effort with `?atomic=false`, a result per operation.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser};
use crate::items_support::*;

/// What a user's data looks like: every live item, the change counter and the events.
async fn snapshot(app: &TestApp, user: &TestUser) -> (Value, Option<i64>, usize) {
    (
        list(app, user, "limit=100").await["items"].clone(),
        owner_state(app, user).await.map(|s| s.last_seq),
        all_created_events(app).await,
    )
}

fn statuses(response: &Value) -> Vec<u64> {
    response["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn an_atomic_batch_applies_every_operation_in_order() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let to_update = id(&create_named(&app, &user, "old name").await);
    let to_delete = id(&create_named(&app, &user, "doomed").await);
    let response = batch(
        &app,
        &user,
        "",
        json!([
            { "op": "create", "body": { "name": "new", "data": { "k": 1 } } },
            { "op": "update", "id": to_update, "ifMatch": "\"1\"", "body": { "name": "renamed" } },
            { "op": "delete", "id": to_delete, "ifMatch": "\"1\"" },
            { "op": "update", "id": to_update, "body": { "name": "renamed twice" } },
        ]),
    )
    .await;
    response.assert_status(200);
    assert_eq!(statuses(&response.json), [201, 200, 204, 200]);
    let results = &response.json["results"];
    let created = id(&results[0]["item"]);
    assert_eq!(results[0]["item"], get(&app, &user, &created).await.json);
    assert_eq!(results[1]["item"]["version"], 2);
    assert!(results[2].get("item").is_none() && results[2].get("error").is_none());
    assert_eq!(
        results[3]["item"]["version"], 3,
        "later operations see earlier ones"
    );
    assert_eq!(
        get(&app, &user, &to_update).await.json["name"],
        "renamed twice"
    );
    get(&app, &user, &to_delete)
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(created_events(&app, &[created]).await, [1]);
}

#[tokio::test]
async fn a_failing_operation_rolls_back_the_whole_atomic_batch() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let kept = id(&create_named(&app, &user, "kept").await);
    let spared = id(&create_named(&app, &user, "spared").await);
    let doomed = id(&create_named(&app, &user, "doomed").await);
    let before = snapshot(&app, &user).await;
    let sync_before = changes(&app, &user, "").await;
    let ok = |n: &str| json!({ "op": "create", "body": { "name": n } });
    let failing = [
        (
            json!({ "op": "update", "id": Uuid::now_v7(), "body": { "name": "x" } }),
            404,
            "NOT_FOUND",
        ),
        (
            json!({ "op": "update", "id": kept, "ifMatch": "\"9\"", "body": { "name": "x" } }),
            412,
            "PRECONDITION_FAILED",
        ),
        (
            json!({ "op": "delete", "id": kept, "ifMatch": "\"1\"" }),
            412,
            "PRECONDITION_FAILED",
        ),
        (json!({ "op": "delete", "id": doomed }), 404, "NOT_FOUND"),
        (
            json!({ "op": "update", "id": spared, "ifMatch": "\"1\"", "body": { "name": "\u{0}" } }),
            400,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "op": "create", "body": { "name": "big", "data": { "s": "x".repeat(70_000) } } }),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            json!({ "op": "create", "id": Uuid::now_v7(), "body": { "name": "x" } }),
            400,
            "VALIDATION_FAILED",
        ),
    ];
    for (bad, status, code) in failing {
        let operations = json!([
            ok("first"),
            { "op": "update", "id": kept, "body": { "name": "changed" } },
            { "op": "delete", "id": doomed },
            ok("second"),
            bad,
            ok("never"),
        ]);
        let response = batch(&app, &user, "", operations).await;
        response.assert_error(status, code);
        assert!(
            response
                .detail_paths()
                .iter()
                .all(|p| p.starts_with("operations[4]")),
            "the failing index is named: {}",
            response.text
        );
        assert!(!response.detail_paths().is_empty());
        assert_eq!(
            snapshot(&app, &user).await,
            before,
            "nothing applied, no event stored"
        );
        let feed = changes(
            &app,
            &user,
            &format!("since={}", encode(sync_before["cursor"].as_str().unwrap())),
        )
        .await;
        assert_eq!(
            feed["changes"],
            json!([]),
            "no change reached the sync feed"
        );
    }
    assert_eq!(get(&app, &user, &kept).await.json["name"], "kept");
    assert_eq!(get(&app, &user, &spared).await.json["version"], 1);
    assert_eq!(get(&app, &user, &doomed).await.json["version"], 1);
}

#[tokio::test]
async fn a_best_effort_batch_reports_each_operation_on_its_own() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let a = id(&create_named(&app, &user, "a").await);
    let b = id(&create_named(&app, &user, "b").await);
    let response = batch(
        &app,
        &user,
        "?atomic=false",
        json!([
            { "op": "create", "body": { "name": "fresh" } },
            { "op": "update", "id": Uuid::now_v7(), "body": { "name": "x" } },
            { "op": "update", "id": a, "ifMatch": "\"5\"", "body": { "name": "x" } },
            { "op": "update", "id": a, "ifMatch": "\"1\"", "body": { "name": "a2" } },
            { "op": "create", "body": { "name": "big", "data": { "s": "x".repeat(70_000) } } },
            { "op": "create" },
            { "op": "delete", "id": b, "body": { "name": "x" } },
            { "op": "delete", "id": b },
            { "op": "delete", "id": b },
        ]),
    )
    .await;
    response.assert_status(200);
    assert_eq!(
        statuses(&response.json),
        [201, 404, 412, 200, 413, 400, 400, 204, 404]
    );
    let results = &response.json["results"];
    assert_eq!(results[1]["error"]["code"], "NOT_FOUND");
    assert_eq!(results[2]["error"]["code"], "PRECONDITION_FAILED");
    assert_eq!(results[4]["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(
        results[5]["error"]["details"][0]["path"],
        "operations[5].body"
    );
    assert_eq!(
        results[6]["error"]["details"][0]["path"],
        "operations[6].body"
    );
    assert!(results[1].get("item").is_none());
    let fresh = id(&results[0]["item"]);
    let mut live = all_ids(&app, &user).await;
    live.sort();
    let mut expected = vec![a.clone(), fresh.clone()];
    expected.sort();
    assert_eq!(
        live, expected,
        "the successes stayed, the failures left no trace"
    );
    assert_eq!(get(&app, &user, &a).await.json["version"], 2);
    assert_eq!(
        all_created_events(&app).await,
        3,
        "a, b and fresh: not the failed create"
    );
}

#[tokio::test]
async fn a_batch_holds_1_to_100_operations() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let create = |i: usize| json!({ "op": "create", "body": { "name": format!("b{i:03}") } });
    let empty = batch(&app, &user, "", json!([])).await;
    empty.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(empty.detail_paths(), ["operations"]);
    let too_many = batch(&app, &user, "", (0..101).map(create).collect()).await;
    too_many.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(too_many.detail_paths(), ["operations"]);
    assert!(all_ids(&app, &user).await.is_empty());
    let full = batch(&app, &user, "", (0..100).map(create).collect()).await;
    full.assert_status(200);
    assert_eq!(statuses(&full.json), vec![201; 100]);
    assert_eq!(list(&app, &user, "").await["total"], 100);
    let names: Vec<String> = full.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        (0..100).map(|i| format!("b{i:03}")).collect::<Vec<_>>(),
        "in order"
    );
}

#[tokio::test]
async fn malformed_operations_are_400_naming_the_operation() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let item = id(&create_named(&app, &user, "kept").await);
    let cases = [
        (
            json!({ "op": "upsert", "body": { "name": "x" } }),
            "operations[0].op",
        ),
        (json!({ "body": { "name": "x" } }), "operations[0]"),
        (
            json!({ "op": "update", "id": "not-a-uuid", "body": { "name": "x" } }),
            "operations[0].id",
        ),
        (
            json!({ "op": "update", "id": 42, "body": { "name": "x" } }),
            "operations[0].id",
        ),
        (
            json!({ "op": "create", "body": { "name": "" } }),
            "operations[0].body.name",
        ),
        (
            json!({ "op": "create", "body": { "name": "x".repeat(101) } }),
            "operations[0].body.name",
        ),
        (
            json!({ "op": "create", "body": { "name": "x", "role": "admin" } }),
            "operations[0].body",
        ),
        (
            json!({ "op": "create", "body": { "name": "x", "data": [1] } }),
            "operations[0].body.data",
        ),
        (
            json!({ "op": "create", "body": { "name": "x" }, "extra": 1 }),
            "operations[0]",
        ),
        (
            json!({ "op": "create", "ifMatch": "x".repeat(65), "body": { "name": "x" } }),
            "operations[0].ifMatch",
        ),
        (
            json!({ "op": "update", "body": { "name": "x" } }),
            "operations[0].id",
        ),
        (json!({ "op": "update", "id": item }), "operations[0].body"),
        (json!({ "op": "delete" }), "operations[0].id"),
        (
            json!({ "op": "create", "id": item, "body": { "name": "x" } }),
            "operations[0].id",
        ),
    ];
    for (operation, path) in cases {
        for query in ["", "?atomic=false"] {
            let response = batch(&app, &user, query, json!([operation])).await;
            let (status, paths) = if response.status == 200 {
                let error = &response.json["results"][0]["error"];
                let paths = error["details"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .map(|e| e["path"].as_str().unwrap().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    response.json["results"][0]["status"].as_u64().unwrap(),
                    paths,
                )
            } else {
                response.assert_error(400, "VALIDATION_FAILED");
                (400, response.detail_paths())
            };
            assert_eq!(status, 400, "{operation}");
            assert!(
                paths.iter().any(|p| p.starts_with(path)) || response.text.contains(path),
                "{operation}: {}",
                response.text
            );
        }
    }
    for bad in [json!({ "operations": {} }), json!({ "ops": [] }), json!([])] {
        let response = app
            .post("/api/data/batch")
            .bearer(&user.access)
            .json(&bad)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
    }
    let atomic_garbage = app
        .post("/api/data/batch?atomic=maybe")
        .bearer(&user.access)
        .json(&json!({ "operations": [{ "op": "delete", "id": item }] }))
        .send()
        .await;
    atomic_garbage.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(all_ids(&app, &user).await, [item.as_str()]);
    assert_eq!(get(&app, &user, &item).await.json["version"], 1);
}

/// Consecutive creates are written together; what each gets must be what it would have got
/// alone: its own sequence number in operation order, between those of its neighbours, and one
/// event each.
#[tokio::test]
async fn creates_written_together_take_their_own_places_in_the_sync_feed() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let existing = id(&create_named(&app, &user, "existing").await);
    let cursor = changes(&app, &user, "").await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let seq_before = owner_state(&app, &user).await.unwrap().last_seq;
    let response = batch(
        &app,
        &user,
        "",
        json!([
            { "op": "create", "body": { "name": "a" } },
            { "op": "create", "body": { "name": "b" } },
            { "op": "update", "id": existing, "body": { "name": "existing, renamed" } },
            { "op": "create", "body": { "name": "c" } },
            { "op": "create", "body": { "name": "d" } },
            { "op": "create", "body": { "name": "e" } },
        ]),
    )
    .await;
    response.assert_status(200);
    assert_eq!(statuses(&response.json), [201, 201, 200, 201, 201, 201]);
    let feed = changes(&app, &user, &format!("since={}", encode(&cursor))).await;
    let names: Vec<&str> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "existing, renamed", "c", "d", "e"]);
    let state = owner_state(&app, &user).await.unwrap();
    assert_eq!(state.last_seq, seq_before + 6, "one sequence number each");
    assert_eq!(state.live_count, 6);
    let created: Vec<String> = [0, 1, 3, 4, 5]
        .iter()
        .map(|&i| id(&response.json["results"][i]["item"]))
        .collect();
    let mut seqs = Vec::new();
    for (i, item) in created.iter().enumerate() {
        assert_eq!(
            get(&app, &user, item).await.json,
            response.json["results"][[0, 1, 3, 4, 5][i]]["item"]
        );
        seqs.push(row(&app, item).await.unwrap().change_seq);
    }
    let renamed = row(&app, &existing).await.unwrap().change_seq;
    assert_eq!(
        seqs,
        [
            seq_before + 1,
            seq_before + 2,
            seq_before + 4,
            seq_before + 5,
            seq_before + 6
        ]
    );
    assert_eq!(renamed, seq_before + 3);
    assert_eq!(created_events(&app, &created).await, [1; 5]);
}

/// A run of creates that crosses the quota fails at the first create over it, and nothing of
/// the run (or of the batch) stays.
#[tokio::test]
async fn a_run_of_creates_over_the_quota_names_the_first_one_over() {
    let app = TestApp::builder()
        .env("MAX_ITEMS_PER_USER", "4")
        .spawn()
        .await;
    let user = app.register().await;
    create_named(&app, &user, "one").await;
    let create = |n: usize| json!({ "op": "create", "body": { "name": format!("c{n}") } });
    let refused = batch(&app, &user, "", (0..5).map(create).collect()).await;
    refused.assert_error(403, "QUOTA_EXCEEDED");
    assert_eq!(refused.detail_paths(), ["operations[3]"]);
    assert_eq!(all_ids(&app, &user).await.len(), 1);
    assert_eq!(all_created_events(&app).await, 1);
    let state = owner_state(&app, &user).await.unwrap();
    assert_eq!((state.last_seq, state.live_count), (1, 1));
    // A validation error after the run is reported only when the run itself fits.
    let invalid_after = batch(
        &app,
        &user,
        "",
        json!([create(0), create(1), { "op": "create", "id": Uuid::now_v7(), "body": { "name": "x" } }]),
    )
    .await;
    invalid_after.assert_error(400, "VALIDATION_FAILED");
    assert!(
        invalid_after
            .detail_paths()
            .iter()
            .all(|p| p.starts_with("operations[2]"))
    );
    let over_then_invalid = batch(
        &app,
        &user,
        "",
        json!([create(0), create(1), create(2), create(3), { "op": "create", "id": Uuid::now_v7(), "body": { "name": "x" } }]),
    )
    .await;
    over_then_invalid.assert_error(403, "QUOTA_EXCEEDED");
    assert_eq!(over_then_invalid.detail_paths(), ["operations[3]"]);
    let fits = batch(&app, &user, "", (0..3).map(create).collect()).await;
    fits.assert_status(200);
    assert_eq!(owner_state(&app, &user).await.unwrap().live_count, 4);
}
