//! Create, read, replace and delete one item: ETags, conditional requests, the cache, the
//! outbox event, and ownership on every route.

use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::items_support::*;

#[tokio::test]
async fn a_created_item_comes_back_with_location_etag_and_the_same_body() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let body = json!({ "name": "  Groceries ", "description": "Milk", "data": { "tags": ["home"], "n": 1.5 } });
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&body)
        .send()
        .await;
    response.assert_status(201);
    let item = &response.json;
    let id = id(item);
    assert_eq!(
        response.header("location"),
        Some(&*format!("/api/data/{id}"))
    );
    assert_eq!(response.header("etag"), Some("\"1\""));
    assert_eq!(item["name"], "Groceries", "names are trimmed");
    assert_eq!(item["description"], "Milk");
    assert_eq!(item["data"], json!({ "tags": ["home"], "n": 1.5 }));
    assert_eq!(item["version"], 1);
    assert_eq!(item["createdAt"], item["updatedAt"]);
    let uuid: Uuid = id.parse().unwrap();
    assert_eq!(uuid.get_version_num(), 7, "time-ordered ids");
    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        7,
        "exactly the contract's fields, nothing internal: {keys:?}"
    );

    let fetched = get(&app, &user, &id).await;
    fetched.assert_status(200);
    assert_eq!(&fetched.json, item, "GET returns what POST did");
    assert_eq!(fetched.header("etag"), Some("\"1\""));

    let minimal = create_named(&app, &user, "Bare").await;
    assert_eq!(minimal["description"], serde_json::Value::Null);
    assert_eq!(minimal["data"], serde_json::Value::Null);
}

#[tokio::test]
async fn put_replaces_the_whole_item_and_bumps_the_version() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let item = create(
        &app,
        &user,
        json!({ "name": "a", "description": "d", "data": { "k": 1 } }),
    )
    .await;
    let id = id(&item);
    let replaced = put(&app, &user, &id, json!({ "name": "b" })).await;
    replaced.assert_status(200);
    assert_eq!(replaced.header("etag"), Some("\"2\""));
    assert_eq!(replaced.json["name"], "b");
    assert_eq!(replaced.json["version"], 2);
    assert_eq!(
        replaced.json["description"],
        serde_json::Value::Null,
        "full replace"
    );
    assert_eq!(
        replaced.json["data"],
        serde_json::Value::Null,
        "full replace"
    );
    assert_eq!(replaced.json["createdAt"], item["createdAt"]);
    assert!(replaced.json["updatedAt"].as_str() >= item["updatedAt"].as_str());
    let again = put(&app, &user, &id, json!({ "name": "c", "data": {} })).await;
    assert_eq!(again.json["version"], 3);
    assert_eq!(get(&app, &user, &id).await.json, again.json);
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let id = id(&create_named(&app, &user, "a").await);
    let path = format!("/api/data/{id}");
    let cached = app
        .get(&path)
        .bearer(&user.access)
        .header("if-none-match", "\"1\"")
        .send()
        .await;
    cached.assert_status(304);
    assert_eq!(cached.header("etag"), Some("\"1\""));
    assert!(cached.text.is_empty(), "a 304 has no body");
    for matching in ["*", "\"7\", \"1\"", "W/\"1\""] {
        let response = app
            .get(&path)
            .bearer(&user.access)
            .header("if-none-match", matching)
            .send()
            .await;
        response.assert_status(304);
    }
    put(&app, &user, &id, json!({ "name": "b" }))
        .await
        .assert_status(200);
    let stale = app
        .get(&path)
        .bearer(&user.access)
        .header("if-none-match", "\"1\"")
        .send()
        .await;
    stale.assert_status(200);
    assert_eq!(stale.header("etag"), Some("\"2\""));
    assert_eq!(stale.json["name"], "b");
}

#[tokio::test]
async fn an_if_match_mismatch_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let item = create(&app, &user, json!({ "name": "keep", "data": { "v": 1 } })).await;
    let id = id(&item);
    let path = format!("/api/data/{id}");
    let seq_before = owner_state(&app, &user).await.unwrap().last_seq;
    for tag in ["\"2\"", "\"0\"", "garbage", "W/\"7\""] {
        app.put(&path)
            .bearer(&user.access)
            .header("if-match", tag)
            .json(&json!({ "name": "lost" }))
            .send()
            .await
            .assert_error(412, "PRECONDITION_FAILED");
        app.delete(&path)
            .bearer(&user.access)
            .header("if-match", tag)
            .send()
            .await
            .assert_error(412, "PRECONDITION_FAILED");
    }
    assert_eq!(get(&app, &user, &id).await.json, item, "unchanged");
    assert_eq!(
        owner_state(&app, &user).await.unwrap().last_seq,
        seq_before,
        "no change recorded for sync"
    );
    let updated = app
        .put(&path)
        .bearer(&user.access)
        .header("if-match", "\"1\"")
        .json(&json!({ "name": "won" }))
        .send()
        .await;
    updated.assert_status(200);
    assert_eq!(updated.json["version"], 2);
    app.delete(&path)
        .bearer(&user.access)
        .header("if-match", "\"2\"")
        .send()
        .await
        .assert_status(204);
}

#[tokio::test]
async fn concurrent_updates_with_the_same_if_match_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let id = id(&create_named(&app, &user, "start").await);
    let path = format!("/api/data/{id}");
    let attempts = (0..8).map(|i| {
        app.put(&path)
            .bearer(&user.access)
            .header("if-match", "\"1\"")
            .json(&json!({ "name": format!("writer {i}") }))
            .send()
    });
    let responses = join_all(attempts).await;
    let winners: Vec<_> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one update wins: {responses:?}");
    for loser in responses.iter().filter(|r| r.status != 200) {
        loser.assert_error(412, "PRECONDITION_FAILED");
    }
    let now = get(&app, &user, &id).await;
    assert_eq!(now.json["version"], 2, "one update applied, once");
    assert_eq!(now.json["name"], winners[0].json["name"]);
}

#[tokio::test]
async fn a_deleted_item_is_404_for_get_put_and_a_second_delete() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let id = id(&create_named(&app, &user, "gone").await);
    get(&app, &user, &id).await.assert_status(200);
    let deleted = delete(&app, &user, &id).await;
    deleted.assert_status(204);
    assert!(deleted.text.is_empty());
    get(&app, &user, &id).await.assert_error(404, "NOT_FOUND");
    put(&app, &user, &id, json!({ "name": "back" }))
        .await
        .assert_error(404, "NOT_FOUND");
    delete(&app, &user, &id)
        .await
        .assert_error(404, "NOT_FOUND");
    assert!(all_ids(&app, &user).await.is_empty());
    assert_eq!(list(&app, &user, "").await["total"], 0);
    let tombstone = row(&app, &id).await.expect("kept as a tombstone for sync");
    assert!(tombstone.deleted_at.is_some());
}

#[tokio::test]
async fn the_cached_get_follows_updates_batches_and_deletes() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let id = id(&create_named(&app, &user, "v1").await);
    for _ in 0..2 {
        assert_eq!(get(&app, &user, &id).await.json["name"], "v1");
    }
    put(&app, &user, &id, json!({ "name": "v2" }))
        .await
        .assert_status(200);
    let after_put = get(&app, &user, &id).await;
    assert_eq!(
        (after_put.json["name"].as_str(), after_put.header("etag")),
        (Some("v2"), Some("\"2\""))
    );
    batch(
        &app,
        &user,
        "",
        json!([{ "op": "update", "id": id, "body": { "name": "v3" } }]),
    )
    .await
    .assert_status(200);
    assert_eq!(get(&app, &user, &id).await.json["name"], "v3");
    batch(
        &app,
        &user,
        "?atomic=false",
        json!([{ "op": "delete", "id": id }]),
    )
    .await
    .assert_status(200);
    get(&app, &user, &id).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn each_created_item_stores_exactly_one_data_created_event() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let one = id(&create_named(&app, &user, "one").await);
    let two = id(&create_named(&app, &user, "two").await);
    let batched = batch(
        &app,
        &user,
        "",
        json!([{ "op": "create", "body": { "name": "three" } }]),
    )
    .await;
    let three = id(&batched.json["results"][0]["item"]);
    put(&app, &user, &one, json!({ "name": "updated" }))
        .await
        .assert_status(200);
    delete(&app, &user, &two).await.assert_status(204);
    assert_eq!(created_events(&app, &[one, two, three]).await, [1, 1, 1]);
    assert_eq!(
        all_created_events(&app).await,
        3,
        "updates and deletes raise none"
    );
}

#[tokio::test]
async fn another_users_item_is_404_on_every_route_and_stays_untouched() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let other = app.register().await;
    let admin = app.admin().await;
    let item = create(
        &app,
        &owner,
        json!({ "name": "private", "data": { "secret": 1 } }),
    )
    .await;
    let id = id(&item);
    // The owner's read puts it in the cache, which must not answer anyone else.
    get(&app, &owner, &id).await.assert_status(200);
    let missing = Uuid::now_v7().to_string();
    for intruder in [&other, &admin] {
        for target in [&id, &missing] {
            let fetched = get(&app, intruder, target).await;
            fetched.assert_error(404, "NOT_FOUND");
            assert!(!fetched.text.contains("private"));
            put(&app, intruder, target, json!({ "name": "mine" }))
                .await
                .assert_error(404, "NOT_FOUND");
            app.put(&format!("/api/data/{target}"))
                .bearer(&intruder.access)
                .header("if-match", "*")
                .json(&json!({ "name": "mine" }))
                .send()
                .await
                .assert_error(404, "NOT_FOUND");
            delete(&app, intruder, target)
                .await
                .assert_error(404, "NOT_FOUND");
            for op in [
                json!({ "op": "update", "id": target, "body": { "name": "x" } }),
                json!({ "op": "delete", "id": target }),
            ] {
                let atomic = batch(&app, intruder, "", json!([op])).await;
                atomic.assert_error(404, "NOT_FOUND");
                let best_effort = batch(&app, intruder, "?atomic=false", json!([op])).await;
                assert_eq!(best_effort.json["results"][0]["status"], 404);
            }
        }
        // Neither the list, the search nor the sync feed shows it.
        assert!(all_ids(&app, intruder).await.is_empty());
        assert_eq!(list(&app, intruder, "q=private").await["total"], 0);
        let feed = changes(&app, intruder, "").await;
        assert_eq!(feed["changes"], json!([]));
    }
    let after = get(&app, &owner, &id).await;
    assert_eq!(after.json, item, "untouched by the others");
    assert_eq!(all_ids(&app, &owner).await, [id]);
}

#[tokio::test]
async fn every_data_route_requires_a_token() {
    let app = TestApp::spawn().await;
    let id = Uuid::now_v7();
    let body = json!({ "name": "x" });
    let responses = [
        app.get("/api/data").send().await,
        app.post("/api/data").json(&body).send().await,
        app.get(&format!("/api/data/{id}")).send().await,
        app.put(&format!("/api/data/{id}")).json(&body).send().await,
        app.delete(&format!("/api/data/{id}")).send().await,
        app.post("/api/data/batch")
            .json(&json!({ "operations": [] }))
            .send()
            .await,
        app.get("/api/data/changes").send().await,
        app.get("/api/data").bearer("not-a-token").send().await,
    ];
    for response in responses {
        response.assert_error(401, "UNAUTHORIZED");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
}
