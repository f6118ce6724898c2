//! `GET /api/data`: offset pages with `total`, keyset cursors that stay stable under concurrent
//! inserts, every sort order, and `q`.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::items_support::*;

/// Follows `nextCursor` from the first page of `query` to the last; returns every page.
async fn walk(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let mut pages = vec![list(app, user, query).await];
    while let Some(cursor) = pages.last().unwrap()["nextCursor"].as_str() {
        let next = list(app, user, &format!("{query}&cursor={}", encode(cursor))).await;
        assert!(next.get("total").is_none(), "no total in cursor mode");
        assert!(next.get("offset").is_none(), "no offset in cursor mode");
        pages.push(next);
        assert!(pages.len() < 100, "the walk ends");
    }
    pages
}

fn flat(pages: &[Value]) -> Vec<String> {
    pages.iter().flat_map(ids).collect()
}

fn assert_no_duplicates(ids: &[String]) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an item appeared twice: {ids:?}");
}

#[tokio::test]
async fn offset_pages_cover_every_item_once_with_total() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let created = create_many(&app, &user, "item", 45).await;
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let default = list(&app, &user, "").await;
    assert_eq!(default["limit"], 20, "default limit");
    assert_eq!(default["offset"], 0);
    assert_eq!(default["total"], 45);
    assert_eq!(
        ids(&default),
        newest_first[..20],
        "default sort is -createdAt"
    );

    let mut seen = Vec::new();
    for (offset, expected_len, last) in [(0, 20, false), (20, 20, false), (40, 5, true)] {
        let page = list(&app, &user, &format!("limit=20&offset={offset}")).await;
        assert_eq!(page["total"], 45);
        assert_eq!(page["offset"], offset);
        assert_eq!(page["items"].as_array().unwrap().len(), expected_len);
        assert_eq!(
            page["nextCursor"].is_null(),
            last,
            "null only on the last page"
        );
        seen.extend(ids(&page));
    }
    assert_eq!(seen, newest_first);

    let beyond = list(&app, &user, "limit=20&offset=45").await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 45);
    assert!(beyond["nextCursor"].is_null());
    let exact = list(&app, &user, "limit=45").await;
    assert!(
        exact["nextCursor"].is_null(),
        "a full last page has no next"
    );
    assert_eq!(
        list(&app, &user, "limit=1&offset=44").await["items"][0]["id"],
        created[0]
    );
}

#[tokio::test]
async fn cursor_pages_cover_every_item_once_while_items_are_inserted_between_pages() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let original = create_many(&app, &user, "old", 23).await;

    // Oldest first: items inserted during the walk come after it, and are reached too.
    let mut pages = vec![list(&app, &user, "limit=5&sort=createdAt").await];
    let mut inserted = Vec::new();
    while let Some(cursor) = pages.last().unwrap()["nextCursor"]
        .as_str()
        .map(str::to_owned)
    {
        if inserted.len() < 6 {
            inserted.extend(create_many(&app, &user, "new", 2).await);
        }
        pages.push(
            list(
                &app,
                &user,
                &format!("limit=5&sort=createdAt&cursor={}", encode(&cursor)),
            )
            .await,
        );
    }
    let seen = flat(&pages);
    assert_no_duplicates(&seen);
    let expected: Vec<String> = original.iter().chain(&inserted).cloned().collect();
    assert_eq!(seen, expected, "every item once, in order");

    // Newest first: the items inserted meanwhile sort before the cursor and shift nothing.
    let first = list(&app, &user, "limit=7").await;
    create_many(&app, &user, "newer", 3).await;
    let mut seen = ids(&first);
    let mut cursor = first["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = list(&app, &user, &format!("limit=7&cursor={}", encode(&c))).await;
        seen.extend(ids(&page));
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    let mut before: Vec<String> = expected.clone();
    before.reverse();
    assert_eq!(
        seen, before,
        "exactly the items that existed when the walk began"
    );
}

#[tokio::test]
async fn cursor_pages_stay_consistent_with_a_concurrent_writer() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let original = create_many(&app, &user, "old", 30).await;
    let writer = async {
        let mut ids = Vec::new();
        for i in 0..15 {
            ids.push(id(
                &create_named(&app, &user, &format!("concurrent {i}")).await
            ));
        }
        ids
    };
    let reader = async {
        let mut pages = Vec::new();
        for sort in ["createdAt", "-createdAt"] {
            pages.push(flat(
                &walk(&app, &user, &format!("limit=4&sort={sort}")).await,
            ));
        }
        pages
    };
    let (written, walks) = tokio::join!(writer, reader);
    for seen in walks {
        assert_no_duplicates(&seen);
        for id in &original {
            assert!(seen.contains(id), "{id} skipped");
        }
        for id in &seen {
            assert!(original.contains(id) || written.contains(id));
        }
    }
    // Offset pages are not stable (items shift), but their total follows the inserts and a
    // nextCursor handed out in offset mode continues without repeating anything.
    let first = list(&app, &user, "limit=10&offset=0").await;
    assert_eq!(first["total"], 45);
    create_many(&app, &user, "later", 2).await;
    let shifted = list(&app, &user, "limit=10&offset=10").await;
    assert_eq!(shifted["total"], 47);
    let cursor = first["nextCursor"].as_str().unwrap();
    let continued = list(&app, &user, &format!("limit=10&cursor={}", encode(cursor))).await;
    let mut both = ids(&first);
    both.extend(ids(&continued));
    assert_no_duplicates(&both);
    assert_eq!(
        both,
        all_ids(&app, &user).await[2..22],
        "right after the first page"
    );
}

/// Whether `a` comes before `b` in `sort`: by the sort value, then the id.
fn before(a: &Value, b: &Value, sort: &str) -> bool {
    let (field, descending) = match sort.strip_prefix('-') {
        Some(field) => (field, true),
        None => (sort, false),
    };
    // Timestamps compare as instants: their text form drops trailing zero digits.
    let value = |v: &Value| {
        let text = v[field].as_str().unwrap();
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(at) if field != "name" => format!("{:020}", at.timestamp_micros()),
            _ => text.to_owned(),
        }
    };
    let key = |v: &Value| (value(v), v["id"].as_str().unwrap().to_owned());
    if descending {
        key(a) > key(b)
    } else {
        key(a) < key(b)
    }
}

#[tokio::test]
async fn every_sort_order_pages_the_same_in_both_modes() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    // Names out of creation order, with duplicates so that the id breaks ties.
    let names = [
        "delta", "alpha", "echo", "alpha", "charlie", "bravo", "echo", "alpha", "golf", "foxtrot",
        "bravo",
    ];
    let mut ids_by_creation = Vec::new();
    for name in names {
        ids_by_creation.push(id(&create_named(&app, &user, name).await));
    }
    // Touch a few so that updatedAt order differs from createdAt order.
    for id in [
        &ids_by_creation[3],
        &ids_by_creation[0],
        &ids_by_creation[7],
    ] {
        put(&app, &user, id, json!({ "name": "hotel" }))
            .await
            .assert_status(200);
    }
    for sort in [
        "createdAt",
        "-createdAt",
        "updatedAt",
        "-updatedAt",
        "name",
        "-name",
    ] {
        let whole = list(&app, &user, &format!("limit=100&sort={sort}")).await;
        let items = whole["items"].as_array().unwrap();
        assert_eq!(items.len(), names.len());
        for pair in items.windows(2) {
            assert!(
                before(&pair[0], &pair[1], sort),
                "{sort}: {} then {}",
                pair[0],
                pair[1]
            );
        }
        let by_cursor = flat(&walk(&app, &user, &format!("limit=3&sort={sort}")).await);
        assert_eq!(by_cursor, ids(&whole), "{sort} by cursor");
        let mut by_offset = Vec::new();
        for offset in (0..names.len()).step_by(4) {
            by_offset.extend(ids(&list(
                &app,
                &user,
                &format!("limit=4&sort={sort}&offset={offset}"),
            )
            .await));
        }
        assert_eq!(by_offset, ids(&whole), "{sort} by offset");
    }
}

#[tokio::test]
async fn names_that_look_like_timestamps_page_by_name() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for day in 1..=7 {
        create_named(&app, &user, &format!("2024-01-0{day}T00:00:00Z")).await;
    }
    create_named(&app, &user, "2024-01-01T00:00:00+00:00").await;
    for sort in ["name", "-name"] {
        let pages = walk(&app, &user, &format!("limit=2&sort={sort}")).await;
        let seen = flat(&pages);
        assert_eq!(
            seen,
            ids(&list(&app, &user, &format!("limit=100&sort={sort}")).await),
            "{sort}"
        );
        assert_eq!(seen.len(), 8);
    }
}

#[tokio::test]
async fn q_filters_by_a_literal_case_insensitive_substring_of_the_name() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for name in [
        "Groceries",
        "grocery list",
        "Trip",
        "100% done",
        "under_score",
        "back\\slash",
        "GROCERIES again",
    ] {
        create_named(&app, &user, name).await;
    }
    let names = |page: &Value| -> Vec<String> {
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let found = list(&app, &user, "q=GROC").await;
    assert_eq!(found["total"], 3);
    assert_eq!(
        names(&found),
        ["GROCERIES again", "Groceries", "grocery list"]
    );
    assert_eq!(
        names(&list(&app, &user, "q=%25").await),
        ["100% done"],
        "% is literal"
    );
    assert_eq!(
        names(&list(&app, &user, "q=_").await),
        ["under_score"],
        "_ is literal"
    );
    assert_eq!(names(&list(&app, &user, "q=%5C").await), ["back\\slash"]);
    assert_eq!(list(&app, &user, "q=nothing").await["total"], 0);
    assert_eq!(
        list(&app, &user, "q=%20%20").await["total"],
        7,
        "a blank q filters nothing"
    );

    let pages = walk(&app, &user, "q=groc&limit=1&sort=name").await;
    assert_eq!(pages.len(), 3);
    assert_eq!(flat(&pages).len(), 3);
    // A cursor belongs to its sort and q.
    let cursor = encode(pages[0]["nextCursor"].as_str().unwrap());
    for other in [
        format!("q=trip&limit=1&sort=name&cursor={cursor}"),
        format!("q=groc&limit=1&sort=-name&cursor={cursor}"),
        format!("limit=1&sort=name&cursor={cursor}"),
    ] {
        let response = app
            .get(&format!("/api/data?{other}"))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["cursor"]);
    }
    list(
        &app,
        &user,
        &format!("q=groc&limit=2&sort=name&cursor={cursor}"),
    )
    .await;
}

#[tokio::test]
async fn cursors_are_opaque_and_tamper_proof() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    create_many(&app, &user, "c", 3).await;
    let cursor = list(&app, &user, "limit=1").await["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let (payload, tag) = cursor.split_once('.').unwrap();
    let flipped = |s: &str| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let sync_cursor = changes(&app, &user, "").await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in [
        format!("{}.{tag}", flipped(payload)),
        format!("{payload}.{}", flipped(tag)),
        payload.to_owned(),
        format!("{cursor}x"),
        "eyJzb3J0IjoibmFtZSJ9.AAAA".to_owned(),
        sync_cursor,
        "..".to_owned(),
    ] {
        let response = app
            .get(&format!("/api/data?limit=1&cursor={}", encode(&bad)))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["cursor"], "{bad}");
    }
}

#[tokio::test]
async fn another_users_cursor_only_ever_shows_your_own_items() {
    let app = TestApp::spawn().await;
    let alice = app.register().await;
    let bob = app.register().await;
    create_many(&app, &alice, "alice", 5).await;
    let bobs = create_many(&app, &bob, "bob", 5).await;
    let cursor = list(&app, &alice, "limit=2").await["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = list(&app, &bob, &format!("limit=100&cursor={}", encode(&cursor))).await;
    for id in ids(&page) {
        assert!(bobs.contains(&id), "only Bob's items");
    }
    assert!(!page.to_string().contains("alice"));
}
