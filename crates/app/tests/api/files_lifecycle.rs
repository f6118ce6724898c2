//! What happens to stored bytes: deleting a file removes them (by a job), deleting the account
//! removes all of them, the export links to them, and the orphan sweep removes objects that
//! no row names.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::helpers::files::{Driver, spawn};
use crate::helpers::fixtures;
use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_drivers;

on_both_drivers!(
    deleting_a_file_removes_its_bytes_and_its_thumbnail,
    deleting_the_account_removes_every_file,
    the_export_lists_files_with_working_signed_links,
);

async fn deleting_a_file_removes_its_bytes_and_its_thumbnail(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let file = app
        .uploaded(&user.access, "photo.png", &fixtures::png(600, 400))
        .await;
    let id = file["id"].as_str().unwrap();
    app.processed(&user.access, id).await;
    assert_eq!(
        app.stored_keys().await,
        [format!("files/{id}"), format!("thumbs/{id}")]
    );
    let path = format!("/api/files/{id}");
    app.delete(&path)
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    app.get(&path)
        .bearer(&user.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&path)
        .bearer(&user.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.wait_for_stored(0).await;
}

async fn deleting_the_account_removes_every_file(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let keeper = app.register().await;
    for name in ["a.txt", "b.txt"] {
        app.uploaded(&user.access, name, b"mine").await;
    }
    let kept = app.uploaded(&keeper.access, "c.txt", b"theirs").await;
    app.delete("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .assert_status(204);
    let left = app.wait_for_stored(1).await;
    assert_eq!(left, [format!("files/{}", kept["id"].as_str().unwrap())]);
}

async fn the_export_lists_files_with_working_signed_links(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let file = app.uploaded(&user.access, "diary.txt", b"dear diary").await;
    let export = app
        .get("/api/users/me/export")
        .bearer(&user.access)
        .send()
        .await;
    export.assert_status(200);
    let files = export.json["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], file["id"]);
    assert_eq!(files[0]["filename"], "diary.txt");
    assert_eq!(files[0]["sha256"], file["sha256"]);
    assert!(files[0]["urlExpiresAt"].is_string());
    let got = app.download(files[0]["url"].as_str().unwrap(), &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"dear diary");
}

#[tokio::test]
async fn the_list_is_a_page_of_your_own_files_newest_first() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let file = app.uploaded(&user.access, &format!("{n}.txt"), b"x").await;
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    let first = app
        .get("/api/files?limit=2")
        .bearer(&user.access)
        .send()
        .await;
    first.assert_status(200);
    assert_eq!(first.json["total"], 3);
    assert_eq!(first.json["items"][0]["id"], ids[2]);
    assert_eq!(first.json["items"][1]["id"], ids[1]);
    let cursor = first.json["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/api/files?limit=2&cursor={cursor}"))
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(rest.json["items"][0]["id"], ids[0]);
    assert!(rest.json["nextCursor"].is_null());
    app.get("/api/files?limit=0")
        .bearer(&user.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    app.get("/api/files?color=red")
        .bearer(&user.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

/// Makes a file under the upload directory look `age` old.
fn age(path: &std::path::Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[tokio::test]
async fn the_orphan_sweep_removes_old_objects_that_no_row_names() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let live = app.uploaded(&user.access, "kept.txt", b"still mine").await;
    let live_id = live["id"].as_str().unwrap().to_owned();
    let (old, fresh) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for key in [
        format!("files/{old}"),
        format!("thumbs/{old}"),
        format!("files/{fresh}"),
    ] {
        app.state
            .storage
            .put(&key, bytes::Bytes::from_static(b"orphan"))
            .await
            .unwrap();
    }
    let root = app.state.config.data_dir.join("uploads");
    // What a crash mid-upload leaves: a staging file next to where the object would go.
    let staging = root.join(format!("files/{}#1", uuid::Uuid::now_v7()));
    std::fs::write(&staging, b"half an upload").unwrap();
    let two_hours = Duration::from_secs(2 * 3600);
    for path in [
        root.join(format!("files/{old}")),
        root.join(format!("thumbs/{old}")),
        root.join(format!("files/{live_id}")),
        staging.clone(),
    ] {
        age(&path, two_hours);
    }
    let removed = aios_app::files::sweep::sweep_orphans(&app.state)
        .await
        .unwrap();
    assert_eq!(removed, 3);
    let mut expected = vec![format!("files/{live_id}"), format!("files/{fresh}")];
    expected.sort();
    assert_eq!(app.stored_keys().await, expected);
    assert!(!staging.exists());
    let content = app
        .download(
            &format!("/api/files/{live_id}/content"),
            &[("authorization", &format!("Bearer {}", user.access))],
        )
        .await;
    assert_eq!(content.body, b"still mine");
}
