//! The in-app inbox: administrators send, users page through theirs (newest first, unread
//! filter and count), mark read one or all; other users' notifications are 404; everything is
//! in the export.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::devices_support::{jobs_in, notify, register_device, wait_fanned_out};
use crate::helpers::TestApp;

async fn inbox(app: &TestApp, access: &str, query: &str) -> Value {
    let response = app
        .get(&format!("/api/notifications{query}"))
        .bearer(access)
        .send()
        .await;
    response.assert_status(200);
    response.json
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_inbox_pages_newest_first_with_the_unread_count() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(notify(&app, &admin.access, user.id, &format!("n{n}")).await);
    }
    let first = inbox(&app, &user.access, "?limit=2").await;
    assert_eq!(titles(&first), ["n4", "n3"]);
    assert_eq!(first["total"], 5);
    assert_eq!(first["offset"], 0);
    assert_eq!(first["unread"], 5);
    let item = &first["items"][0];
    assert_eq!(item["body"], "n4: body");
    assert_eq!(item["data"], json!({"kind": "test", "n": 1}));
    assert_eq!(item["readAt"], Value::Null);
    assert!(item["createdAt"].is_string());
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = inbox(&app, &user.access, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&second), ["n2", "n1"]);
    assert!(second.get("total").is_none());
    let cursor = second["nextCursor"].as_str().unwrap();
    let last = inbox(&app, &user.access, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&last), ["n0"]);
    assert_eq!(last["nextCursor"], Value::Null);

    // Read one: it leaves the unread listing and the count.
    app.post(&format!("/api/notifications/{}/read", ids[3]))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    app.post(&format!("/api/notifications/{}/read", ids[3]))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    let unread = inbox(&app, &user.access, "?unread=true").await;
    assert_eq!(titles(&unread), ["n4", "n2", "n1", "n0"]);
    assert_eq!(unread["total"], 4);
    assert_eq!(unread["unread"], 4);
    let all = inbox(&app, &user.access, "").await;
    assert!(all["items"][1]["readAt"].is_string());
    // A cursor of the unread listing does not continue the full one.
    let unread_cursor = inbox(&app, &user.access, "?unread=true&limit=1").await["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/api/notifications?cursor={unread_cursor}"))
        .bearer(&user.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");

    app.post("/api/notifications/read-all")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    let after = inbox(&app, &user.access, "?unread=true").await;
    assert!(after["items"].as_array().unwrap().is_empty());
    assert_eq!(after["unread"], 0);
    assert_eq!(inbox(&app, &user.access, "").await["total"], 5);
}

#[tokio::test]
async fn inbox_queries_out_of_range_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?offset=-1",
        "?unread=maybe",
        "?cursor=garbage",
        "?sort=name",
        "?offset=1&cursor=x",
    ] {
        app.get(&format!("/api/notifications{query}"))
            .bearer(&user.access)
            .send()
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    app.get("/api/notifications")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn other_users_notifications_are_not_found() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register().await;
    let stranger = app.register().await;
    let id = notify(&app, &admin.access, owner.id, "private").await;
    app.post(&format!("/api/notifications/{id}/read"))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.post(&format!("/api/notifications/{}/read", uuid::Uuid::now_v7()))
        .bearer(&owner.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.post("/api/notifications/nope/read")
        .bearer(&owner.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    app.post("/api/notifications/read-all")
        .bearer(&stranger.access)
        .send()
        .await
        .assert_status(204);
    assert!(
        inbox(&app, &stranger.access, "").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let owners = inbox(&app, &owner.access, "").await;
    assert_eq!(
        owners["unread"], 1,
        "the stranger's read-all did not touch it"
    );
}

#[tokio::test]
async fn only_administrators_send_and_a_refused_send_stores_and_pushes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_device(
        &app,
        &user.access,
        "android",
        json!(crate::devices_support::fcm_token()),
    )
    .await
    .assert_status(201);
    let body = json!({"userId": user.id, "title": "Free money", "body": "Click"});
    let refused = app
        .post("/api/notifications")
        .bearer(&user.access)
        .json(&body)
        .send()
        .await;
    refused.assert_error(403, "FORBIDDEN");
    app.post("/api/notifications")
        .json(&body)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(inbox(&app, &user.access, "").await["total"], 0);
    let pending = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::EventType.eq("notification:send"))
        .count(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(pending, 0, "no event was raised");
    assert_eq!(
        jobs_in(&app, &admin.access, "notification:send", "done").await,
        0
    );

    // What an administrator may send, and what not.
    let send = |body: Value| {
        let app = &app;
        let token = admin.access.clone();
        async move {
            app.post("/api/notifications")
                .bearer(&token)
                .json(&body)
                .send()
                .await
        }
    };
    send(json!({"userId": user.id, "title": "", "body": "b"}))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    send(json!({"userId": user.id, "title": "t".repeat(201), "body": "b"}))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    send(json!({"userId": user.id, "title": "t", "body": "b", "data": [1]}))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    send(json!({"userId": user.id, "title": "t", "body": "b", "role": "admin"}))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let too_big = send(
        json!({"userId": user.id, "title": "t", "body": "b", "data": {"x": "y".repeat(3000)}}),
    )
    .await;
    too_big.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(too_big.detail_paths(), ["data"]);
    send(json!({"userId": uuid::Uuid::now_v7(), "title": "t", "body": "b"}))
        .await
        .assert_error(404, "NOT_FOUND");
    let sent = send(json!({"userId": user.id, "title": " Hello ", "body": "World"})).await;
    sent.assert_status(202);
    assert_eq!(sent.json["title"], "Hello");
    assert_eq!(
        inbox(&app, &user.access, "").await["total"],
        1,
        "in the inbox at once"
    );
    wait_fanned_out(&app, &admin.access, 1).await;
}

#[tokio::test]
async fn the_export_holds_the_devices_and_the_inbox() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_device(
        &app,
        &user.access,
        "ios",
        json!(crate::devices_support::apns_token()),
    )
    .await
    .assert_status(201);
    notify(&app, &admin.access, user.id, "Exported").await;
    let export = app
        .get("/api/users/me/export")
        .bearer(&user.access)
        .send()
        .await;
    export.assert_status(200);
    let devices = export.json["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["platform"], "ios");
    assert!(
        !export.text.contains(&crate::devices_support::apns_token()),
        "no token in the export"
    );
    let notifications = export.json["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0]["title"], "Exported");
}
