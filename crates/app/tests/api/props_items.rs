//! Property tests through the real application (few cases: each one is a handful of HTTP
//! round trips): an item's ETag changes whenever its content does and conditional requests
//! compare as RFC 9110 says; and a cursor handed to one user never shows another user's items.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::items_support::{batch, create, encode, get, id, ids, list, put};

/// The runtime for one test, and its application. proptest drives a synchronous closure,
/// which blocks on the runtime for each case.
fn app() -> (tokio::runtime::Runtime, TestApp) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    (runtime, app)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Failures are shrunk over HTTP: bounded, so a failing run still ends soon.
        max_shrink_iters: 64,
        ..Config::default()
    })
}

/// Item contents drawn from a few values, so that writes often repeat the current content.
fn content() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["a", "b", "Ünïcode 字"][..]),
        prop::option::of(prop::sample::select(&["", "text\nmore"][..])),
        prop::option::of(prop_oneof![Just(json!({})), Just(json!({ "n": 1 })), Just(json!({ "n": 1.5, "l": [true, null] }))]),
    )
        .prop_map(|(name, description, data)| json!({ "name": name, "description": description, "data": data }))
}

fn etag_of(item: &Value) -> String {
    format!("\"{}\"", item["version"])
}

fn content_of(item: &Value) -> Value {
    json!({ "name": item["name"], "description": item["description"], "data": item["data"] })
}

/// One write: a `PUT` (conditional on the current ETag or not) or a batch update.
#[derive(Debug, Clone)]
enum Write {
    Put(Value),
    PutIfMatch(Value),
    Batch(Value),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        content().prop_map(Write::Put),
        content().prop_map(Write::PutIfMatch),
        content().prop_map(Write::Batch),
    ]
}

async fn apply(app: &TestApp, user: &TestUser, item: &str, etag: &str, write: &Write) -> Value {
    match write {
        Write::Put(body) => {
            let response = put(app, user, item, body.clone()).await;
            response.assert_status(200);
            assert_eq!(
                response.header("etag"),
                Some(etag_of(&response.json).as_str())
            );
            response.json
        }
        Write::PutIfMatch(body) => {
            let path = format!("/api/data/{item}");
            let response = app
                .put(&path)
                .bearer(&user.access)
                .header("if-match", etag)
                .json(body)
                .send()
                .await;
            response.assert_status(200);
            assert_eq!(
                response.header("etag"),
                Some(etag_of(&response.json).as_str())
            );
            response.json
        }
        Write::Batch(body) => {
            let operations = json!([{ "op": "update", "id": item, "ifMatch": etag, "body": body }]);
            let response = batch(app, user, "", operations).await;
            response.assert_status(200);
            response.json["results"][0]["item"].clone()
        }
    }
}

#[test]
fn an_items_etag_changes_whenever_its_content_changes() {
    let (runtime, app) = app();
    let user = runtime.block_on(app.register());
    let strategy = (content(), prop::collection::vec(write(), 1..6));
    runner(12)
        .run(&strategy, |(first, writes)| {
            runtime.block_on(async {
                let mut item = create(&app, &user, first).await;
                let item_id = id(&item);
                // Every ETag seen, with the content it stood for.
                let mut seen: Vec<(String, Value)> = vec![(etag_of(&item), content_of(&item))];
                for write in &writes {
                    let before = etag_of(&item);
                    item = apply(&app, &user, &item_id, &before, write).await;
                    let etag = etag_of(&item);
                    // A write never reuses a tag: not for other content, not even for the same.
                    prop_assert!(
                        seen.iter().all(|(tag, _)| *tag != etag),
                        "{} reused after {:?}",
                        etag,
                        seen
                    );
                    seen.push((etag.clone(), content_of(&item)));
                    let read = get(&app, &user, &item_id).await;
                    prop_assert_eq!(read.header("etag"), Some(etag.as_str()));
                    prop_assert_eq!(content_of(&read.json), content_of(&item));
                }
                let path = format!("/api/data/{item_id}");
                let current = etag_of(&item);
                let conditional = |name: &'static str, value: String| {
                    let app = &app;
                    let user = &user;
                    let path = path.clone();
                    async move {
                        app.get(&path)
                            .bearer(&user.access)
                            .header(name, &value)
                            .send()
                            .await
                    }
                };
                // If-None-Match compares weakly: the current tag, weak or not, is a 304; an
                // older one gets the current content.
                for value in [current.clone(), format!("W/{current}")] {
                    prop_assert_eq!(
                        conditional("if-none-match", value).await.status.as_u16(),
                        304
                    );
                }
                for (old, _) in &seen[..seen.len() - 1] {
                    let response = conditional("if-none-match", old.clone()).await;
                    prop_assert_eq!(response.status.as_u16(), 200);
                    prop_assert_eq!(content_of(&response.json), content_of(&item));
                }
                // If-Match compares strongly: an old tag, or the current one marked weak, is 412
                // and changes nothing.
                let mut refused: Vec<String> = seen[..seen.len() - 1]
                    .iter()
                    .map(|(t, _)| t.clone())
                    .collect();
                refused.push(format!("W/{current}"));
                for tag in refused {
                    let response = app
                        .put(&path)
                        .bearer(&user.access)
                        .header("if-match", &tag)
                        .json(&json!({ "name": "lost" }))
                        .send()
                        .await;
                    prop_assert_eq!(response.status.as_u16(), 412, "If-Match: {}", tag);
                }
                prop_assert_eq!(etag_of(&get(&app, &user, &item_id).await.json), current);
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}

const SORTS: &[&str] = &[
    "createdAt",
    "-createdAt",
    "updatedAt",
    "-updatedAt",
    "name",
    "-name",
];

/// Every `nextCursor` of a walk through `user`'s items in `sort` order, `limit` per page.
async fn cursors(app: &TestApp, user: &TestUser, sort: &str, limit: usize) -> Vec<String> {
    let mut cursors = Vec::new();
    let mut query = format!("limit={limit}&sort={sort}");
    loop {
        let page = list(app, user, &query).await;
        let Some(next) = page["nextCursor"].as_str() else {
            return cursors;
        };
        cursors.push(next.to_owned());
        query = format!("limit={limit}&sort={sort}&cursor={}", encode(next));
    }
}

#[test]
fn another_users_cursor_never_shows_their_items() {
    let (runtime, app) = app();
    let names = prop::collection::vec(prop::sample::select(&["a", "m", "z", "m2"][..]), 0..7);
    let strategy = (names.clone(), names, 1usize..4, prop::sample::select(SORTS));
    runner(10)
        .run(&strategy, |(alices_names, bobs_names, limit, sort)| {
            runtime.block_on(async {
                let (alice, bob) = (app.register().await, app.register().await);
                let mut alices = Vec::new();
                for name in &alices_names {
                    alices.push(id(&create(
                        &app,
                        &alice,
                        json!({ "name": format!("alice {name}") }),
                    )
                    .await));
                }
                let mut bobs = Vec::new();
                for name in &bobs_names {
                    bobs.push(id(&create(&app, &bob, json!({ "name": name })).await));
                }
                for cursor in cursors(&app, &alice, sort, limit).await {
                    let response = app
                        .get(&format!(
                            "/api/data?limit=100&sort={sort}&cursor={}",
                            encode(&cursor)
                        ))
                        .bearer(&bob.access)
                        .send()
                        .await;
                    response.assert_status(200);
                    for item in ids(&response.json) {
                        prop_assert!(
                            bobs.contains(&item) && !alices.contains(&item),
                            "{} leaked",
                            item
                        );
                    }
                    prop_assert!(!response.text.contains("alice"));
                }
                // A sync cursor is bound to its owner: refused for anyone else.
                let feed = app
                    .get("/api/data/changes?limit=2")
                    .bearer(&alice.access)
                    .send()
                    .await;
                let since = feed.json["cursor"].as_str().unwrap_or_default().to_owned();
                let response = app
                    .get(&format!("/api/data/changes?since={}", encode(&since)))
                    .bearer(&bob.access)
                    .send()
                    .await;
                response.assert_error(400, "VALIDATION_FAILED");
                prop_assert_eq!(response.detail_paths(), ["since"]);
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}
