//! Bad input on every field of the Data API, and its limits: 64 KiB of data, bounded nesting,
//! the per-user item quota.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::items_support::*;

/// `data` nested `levels` objects deep, counting `data` itself.
fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let id = id(&create_named(&app, &user, "kept").await);
    let cases = [
        (json!({}), "name"),
        (json!({ "name": 5 }), "name"),
        (json!({ "name": null }), "name"),
        (json!({ "name": ["a"] }), "name"),
        (json!({ "name": "a", "description": 5 }), "description"),
        (
            json!({ "name": "a", "description": { "x": 1 } }),
            "description",
        ),
        (json!({ "name": "a", "data": [1, 2] }), "data"),
        (json!({ "name": "a", "data": "text" }), "data"),
        (json!({ "name": "a", "data": 5 }), "data"),
        (json!({ "name": "a", "data": true }), "data"),
        (json!({ "name": "a", "version": 9 }), "version"),
        (json!({ "name": "a", "id": Uuid::now_v7() }), "id"),
        (json!({ "name": "a", "ownerId": user.id }), "ownerId"),
        (
            json!({ "name": "a", "createdAt": "2020-01-01T00:00:00Z" }),
            "createdAt",
        ),
    ];
    for (body, field) in cases {
        for response in [
            app.post("/api/data")
                .bearer(&user.access)
                .json(&body)
                .send()
                .await,
            put(&app, &user, &id, body.clone()).await,
        ] {
            response.assert_error(400, "VALIDATION_FAILED");
            assert!(
                response.detail_paths().iter().any(|p| p == field) || response.text.contains(field),
                "{body} should name {field}: {}",
                response.text
            );
        }
    }
    for body in [json!([]), json!("name"), json!(null)] {
        let response = app
            .post("/api/data")
            .bearer(&user.access)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
    }
    let malformed = app
        .post("/api/data")
        .bearer(&user.access)
        .body("application/json", "{\"name\": ")
        .send()
        .await;
    malformed.assert_error(400, "VALIDATION_FAILED");
    let not_json = app
        .post("/api/data")
        .bearer(&user.access)
        .body("text/plain", "name=a")
        .send()
        .await;
    not_json.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        all_ids(&app, &user).await,
        [id.as_str()],
        "nothing was created"
    );
    assert_eq!(
        get(&app, &user, &id).await.json["version"],
        1,
        "nothing was changed"
    );
}

#[tokio::test]
async fn names_and_descriptions_are_bounded_in_characters() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let hundred_emoji = "😀".repeat(100);
    let item = create_named(&app, &user, &hundred_emoji).await;
    assert_eq!(
        item["name"], hundred_emoji,
        "100 characters, 400 bytes: fine"
    );
    let long_description = "é".repeat(2000);
    create(
        &app,
        &user,
        json!({ "name": "d", "description": long_description }),
    )
    .await;
    let cases = [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "   \t " }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "name": "😀".repeat(101) }), "name"),
        (json!({ "name": "x".repeat(500_000) }), "name"),
        (
            json!({ "name": "a", "description": "x".repeat(2001) }),
            "description",
        ),
        (
            json!({ "name": "a", "description": "x".repeat(900_000) }),
            "description",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .post("/api/data")
            .bearer(&user.access)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), [field], "{}", response.text);
    }
    let huge = json!({ "name": "x".repeat(2 * 1024 * 1024) });
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&huge)
        .send()
        .await;
    response.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(all_ids(&app, &user).await.len(), 2);
}

#[tokio::test]
async fn nul_characters_are_400_on_both_databases() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let kept = id(&create_named(&app, &user, "kept").await);
    let cases = [
        (json!({ "name": "a\u{0}b" }), "name"),
        (
            json!({ "name": "a", "description": "\u{0}" }),
            "description",
        ),
        (json!({ "name": "a", "data": { "k": "v\u{0}" } }), "data"),
        (json!({ "name": "a", "data": { "k\u{0}": 1 } }), "data"),
        (
            json!({ "name": "a", "data": { "k": [{ "deep": "\u{0}" }] } }),
            "data",
        ),
    ];
    for (body, field) in cases {
        for response in [
            app.post("/api/data")
                .bearer(&user.access)
                .json(&body)
                .send()
                .await,
            put(&app, &user, &kept, body.clone()).await,
            batch(&app, &user, "", json!([{ "op": "create", "body": body }])).await,
        ] {
            response.assert_error(400, "VALIDATION_FAILED");
            assert!(
                response.detail_paths().iter().any(|p| p.ends_with(field)),
                "{}",
                response.text
            );
        }
    }
    let fine = create(
        &app,
        &user,
        json!({ "name": "ünï ✓", "data": { "s": "tab\t\"quote\" \u{1F600}" } }),
    )
    .await;
    assert_eq!(get(&app, &user, &id(&fine)).await.json, fine);
}

#[tokio::test]
async fn data_over_64_kib_is_413() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    // `{"s":"…"}` is 8 bytes around the string.
    let at_limit = json!({ "s": "x".repeat(64 * 1024 - 8) });
    assert_eq!(serde_json::to_vec(&at_limit).unwrap().len(), 64 * 1024);
    let item = create(&app, &user, json!({ "name": "full", "data": at_limit })).await;
    let id = id(&item);
    let over = json!({ "s": "x".repeat(64 * 1024 - 7) });
    let created = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "over", "data": over }))
        .send()
        .await;
    created.assert_error(413, "PAYLOAD_TOO_LARGE");
    put(&app, &user, &id, json!({ "name": "over", "data": over }))
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    let many_keys: serde_json::Map<String, Value> = (0..10_000)
        .map(|i| (format!("key{i:05}"), json!(i)))
        .collect();
    put(
        &app,
        &user,
        &id,
        json!({ "name": "keys", "data": many_keys }),
    )
    .await
    .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(get(&app, &user, &id).await.json, item, "unchanged");
    assert_eq!(all_ids(&app, &user).await.len(), 1);
}

#[tokio::test]
async fn deeply_nested_data_is_400() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let item = create(&app, &user, json!({ "name": "deep", "data": nested(32) })).await;
    assert_eq!(item["data"], nested(32), "32 levels, counting data itself");
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "deeper", "data": nested(33) }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(response.detail_paths(), ["data"]);
    let arrays = json!({ "a": (0..40).fold(json!(1), |v, _| json!([v])) });
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "arrays", "data": arrays }))
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    // Deeper than the JSON parser goes: refused before any recursion can hurt the server.
    let hostile = format!(
        "{{\"name\":\"x\",\"data\":{}1{}}}",
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let response = app
        .post("/api/data")
        .bearer(&user.access)
        .body("application/json", hostile)
        .send()
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(all_ids(&app, &user).await, [id(&item)]);
}

#[tokio::test]
async fn malformed_ids_in_paths_are_400() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for bad in [
        "not-a-uuid",
        "123",
        "01a2137f-8cb2-72b6-9f01-2cb0f35c66eZ",
        "%20",
    ] {
        let path = format!("/api/data/{bad}");
        for response in [
            app.get(&path).bearer(&user.access).send().await,
            app.put(&path)
                .bearer(&user.access)
                .json(&json!({ "name": "a" }))
                .send()
                .await,
            app.delete(&path).bearer(&user.access).send().await,
        ] {
            response.assert_error(400, "VALIDATION_FAILED");
            assert_eq!(response.detail_paths(), ["id"], "{bad}: {}", response.text);
        }
    }
}

#[tokio::test]
async fn out_of_range_list_parameters_are_400() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    create_named(&app, &user, "a").await;
    let long_q = format!("q={}", "x".repeat(101));
    let long_cursor = format!("cursor={}", "a".repeat(3000));
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("sort=size", "sort"),
        ("sort=-id", "sort"),
        (long_q.as_str(), "q"),
        ("cursor=garbage", "cursor"),
        (long_cursor.as_str(), "cursor"),
        ("offset=0&cursor=abc", "cursor"),
        ("page=2", "page"),
    ];
    for (query, field) in cases {
        let response = app
            .get(&format!("/api/data?{query}"))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert!(
            response.detail_paths().iter().any(|p| p == field) || response.text.contains(field),
            "{query}: {}",
            response.text
        );
    }
    for ok in [
        "limit=1",
        "limit=100",
        "offset=0",
        "offset=1000000",
        "sort=-name",
        "q=%25",
    ] {
        list(&app, &user, ok).await;
    }
}

#[tokio::test]
async fn out_of_range_sync_parameters_are_400() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let list_cursor = list(&app, &user, "limit=1").await["nextCursor"].clone();
    assert!(list_cursor.is_null());
    create_many(&app, &user, "i", 2).await;
    let list_cursor = list(&app, &user, "limit=1").await["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for query in [
        "since=garbage".to_owned(),
        format!("since={}", encode(&list_cursor)),
        "limit=0".to_owned(),
        "limit=1001".to_owned(),
        "limit=x".to_owned(),
        "cursor=abc".to_owned(),
    ] {
        let response = app
            .get(&format!("/api/data/changes?{query}"))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
    }
}

#[tokio::test]
async fn the_item_quota_is_403_and_frees_up_on_delete() {
    let app = TestApp::builder()
        .env("MAX_ITEMS_PER_USER", "3")
        .spawn()
        .await;
    let user = app.register().await;
    let ids = create_many(&app, &user, "q", 3).await;
    let refused = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "fourth" }))
        .send()
        .await;
    refused.assert_error(403, "QUOTA_EXCEEDED");
    assert_eq!(
        all_created_events(&app).await,
        3,
        "no event for the refused item"
    );
    let batch_refused = batch(
        &app,
        &user,
        "",
        json!([{ "op": "delete", "id": ids[0] }, { "op": "create", "body": { "name": "a" } }, { "op": "create", "body": { "name": "b" } }]),
    )
    .await;
    batch_refused.assert_error(403, "QUOTA_EXCEEDED");
    assert_eq!(batch_refused.detail_paths(), ["operations[2]"]);
    assert_eq!(all_ids(&app, &user).await.len(), 3, "the batch rolled back");
    delete(&app, &user, &ids[0]).await.assert_status(204);
    create_named(&app, &user, "fits again").await;
    assert_eq!(owner_state(&app, &user).await.unwrap().live_count, 3);
    let other = app.register().await;
    create_named(&app, &other, "someone else's quota").await;
}
