//! `POST /api/files`: streamed into storage, sniffed, limited, counted against the quota,
//! idempotent; nothing kept of a refused upload. Each test runs on both storage drivers.

use sha2::{Digest as _, Sha256};

use crate::helpers::TestApp;
use crate::helpers::files::{Driver, Part, multipart, multipart_type, spawn, spawn_with};
use crate::helpers::fixtures;
use crate::on_both_drivers;

on_both_drivers!(
    png_bytes_named_txt_and_sent_as_text_are_stored_as_png,
    an_elf_binary_named_jpg_is_refused_and_nothing_is_kept,
    text_that_turns_binary_past_the_sniffed_head_is_refused,
    an_upload_exactly_at_the_limit_is_stored_and_one_byte_over_is_413,
    filenames_lose_their_path_and_control_characters_and_never_name_the_key,
    the_quota_is_enforced_while_streaming_and_freed_by_deletion,
    concurrent_uploads_cannot_both_take_the_last_of_the_quota,
    an_idempotent_retry_replays_the_upload_and_stores_nothing_more,
);

async fn png_bytes_named_txt_and_sent_as_text_are_stored_as_png(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let png = fixtures::png(64, 32);
    let part = Part {
        name: "file",
        filename: Some("notes.txt"),
        content_type: Some("text/plain"),
        data: &png,
    };
    let response = app.upload_parts(&user.access, &[part]).await;
    response.assert_status(201);
    let file = &response.json;
    let id = file["id"].as_str().unwrap();
    assert_eq!(file["contentType"], "image/png");
    assert_eq!(file["filename"], "notes.txt");
    assert_eq!(file["size"], png.len());
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&png)));
    assert_eq!(file["status"], "processing");
    assert!(file["createdAt"].is_string());
    assert_eq!(
        response.header("location"),
        Some(format!("/api/files/{id}").as_str())
    );
    assert_eq!(app.stored_keys().await, [format!("files/{id}")]);
    let got = app
        .get(&format!("/api/files/{id}"))
        .bearer(&user.access)
        .send()
        .await;
    got.assert_status(200);
    assert_eq!(got.json["contentType"], "image/png");
}

async fn an_elf_binary_named_jpg_is_refused_and_nothing_is_kept(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let part = Part {
        name: "file",
        filename: Some("holiday.jpg"),
        content_type: Some("image/jpeg"),
        data: &fixtures::elf(),
    };
    app.upload_parts(&user.access, &[part])
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(app.stored_keys().await.is_empty());
    let list = app.get("/api/files").bearer(&user.access).send().await;
    assert_eq!(list.json["total"], 0);
}

async fn text_that_turns_binary_past_the_sniffed_head_is_refused(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let mut data = "a line of honest text\n".repeat(2000).into_bytes();
    data.extend_from_slice(&fixtures::elf());
    app.upload(&user.access, "readme.txt", &data)
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(app.stored_keys().await.is_empty());
}

async fn an_upload_exactly_at_the_limit_is_stored_and_one_byte_over_is_413(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let limit = 10 * 1024 * 1024; // the default MAX_UPLOAD_BYTES
    let at_limit = vec![b'a'; limit];
    let file = app.uploaded(&user.access, "at-limit.txt", &at_limit).await;
    assert_eq!(file["size"], limit);
    let over = vec![b'a'; limit + 1];
    app.upload(&user.access, "over.txt", &over)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    let id = file["id"].as_str().unwrap();
    assert_eq!(app.stored_keys().await, [format!("files/{id}")]);
    let list = app.get("/api/files").bearer(&user.access).send().await;
    assert_eq!(list.json["total"], 1);
}

async fn filenames_lose_their_path_and_control_characters_and_never_name_the_key(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    for (sent, kept) in [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.txt", "evil.txt"),
        ("tab\there\u{85}.txt", "tabhere.txt"),
        ("invoice\u{202E}txt.exe", "invoicetxt.exe"),
        ("..", "file"),
    ] {
        let file = app.uploaded(&user.access, sent, b"harmless text").await;
        assert_eq!(file["filename"], kept, "sent {sent:?}");
        let id = file["id"].as_str().unwrap();
        let keys = app.stored_keys().await;
        assert!(keys.contains(&format!("files/{id}")), "{keys:?}");
    }
    let keys = app.stored_keys().await;
    assert!(
        keys.iter()
            .all(|k| !k.contains("passwd") && !k.contains("..")),
        "{keys:?}"
    );
    if driver == Driver::Local {
        let root = app.state.config.data_dir.join("uploads");
        assert!(!root.join("etc").exists() && !root.parent().unwrap().join("etc").exists());
    }
}

async fn the_quota_is_enforced_while_streaming_and_freed_by_deletion(driver: Driver) {
    let builder = TestApp::builder().env("MAX_STORAGE_BYTES_PER_USER", "1000");
    let Some(app) = spawn_with(driver, builder).await else {
        return;
    };
    let user = app.register().await;
    let first = app.uploaded(&user.access, "a.txt", &[b'a'; 600]).await;
    app.upload(&user.access, "b.txt", &[b'b'; 600])
        .await
        .assert_error(403, "QUOTA_EXCEEDED");
    assert_eq!(app.stored_keys().await.len(), 1);
    // Another user has a quota of their own.
    let other = app.register().await;
    app.uploaded(&other.access, "c.txt", &[b'c'; 600]).await;
    let id = first["id"].as_str().unwrap();
    app.delete(&format!("/api/files/{id}"))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    app.uploaded(&user.access, "b.txt", &[b'b'; 600]).await;
}

async fn concurrent_uploads_cannot_both_take_the_last_of_the_quota(driver: Driver) {
    let builder = TestApp::builder().env("MAX_STORAGE_BYTES_PER_USER", "1000");
    let Some(app) = spawn_with(driver, builder).await else {
        return;
    };
    let user = app.register().await;
    let (a, b) = tokio::join!(
        app.upload(&user.access, "a.txt", &[b'a'; 600]),
        app.upload(&user.access, "b.txt", &[b'b'; 600]),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 403], "{} / {}", a.text, b.text);
    app.wait_for_stored(1).await;
    let list = app.get("/api/files").bearer(&user.access).send().await;
    assert_eq!(list.json["total"], 1);
}

async fn an_idempotent_retry_replays_the_upload_and_stores_nothing_more(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let send = |data: &'static [u8]| {
        app.post("/api/files")
            .bearer(&user.access)
            .header("idempotency-key", "upload-1")
            .body(&multipart_type(), multipart(&[Part::file("a.txt", data)]))
            .send()
    };
    let first = send(b"the first file").await;
    first.assert_status(201);
    let again = send(b"the first file").await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(again.header("location"), first.header("location"));
    send(b"another file")
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_MISMATCH");
    assert_eq!(app.stored_keys().await.len(), 1);
}

#[tokio::test]
async fn a_body_that_is_not_exactly_one_file_part_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let field = |name: &'static str| Part {
        name,
        filename: None,
        content_type: None,
        data: b"value",
    };
    let two = [Part::file("a.txt", b"one"), Part::file("b.txt", b"two")];
    let send = |body: Vec<u8>| {
        app.post("/api/files")
            .bearer(&user.access)
            .body(&multipart_type(), body)
            .send()
    };
    let none = send(multipart(&[])).await;
    none.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(none.detail_paths(), ["file"]);
    let other = send(multipart(&[field("description")])).await;
    other.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(other.detail_paths(), ["description"]);
    send(multipart(&two))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let mut truncated = multipart(&[Part::file("a.txt", b"cut short")]);
    truncated.truncate(truncated.len() - 10);
    send(truncated).await.assert_error(400, "VALIDATION_FAILED");
    for content_type in [
        "application/json",
        "multipart/mixed; boundary=x",
        "multipart/form-data",
    ] {
        app.post("/api/files")
            .bearer(&user.access)
            .body(content_type, multipart(&[Part::file("a.txt", b"x")]))
            .send()
            .await
            .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert!(app.stored_keys().await.is_empty());
}

#[tokio::test]
async fn an_upload_declaring_a_body_far_over_the_limit_is_refused_before_it_is_read() {
    let app = TestApp::builder()
        .env("MAX_UPLOAD_BYTES", "1024")
        .spawn()
        .await;
    let user = app.register().await;
    let big = vec![b'a'; 1 << 20];
    app.upload(&user.access, "big.txt", &big)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert!(app.stored_keys().await.is_empty());
}

#[tokio::test]
async fn uploads_need_a_token() {
    let app = TestApp::spawn().await;
    app.post("/api/files")
        .body(&multipart_type(), multipart(&[Part::file("a.txt", b"x")]))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

/// Sends an upload whose body arrives in two halves `pause` apart, on a raw connection.
async fn slow_upload(app: &TestApp, token: &str, pause: std::time::Duration) -> String {
    use tokio::io::AsyncWriteExt as _;
    let body = multipart(&[Part::file("slow.txt", &[b's'; 4096])]);
    let head = format!(
        "POST /api/files HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        multipart_type(),
        body.len()
    );
    let mut stream = crate::helpers::raw::connect(app.addr).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(pause).await;
    // The server may have answered and closed already.
    let _ = stream.write_all(rest).await;
    let outcome = crate::helpers::raw::read_until_closed(&mut stream, pause * 4).await;
    outcome.status_line().to_owned()
}

#[tokio::test]
async fn uploads_run_under_their_own_timeout_not_the_json_one() {
    use std::time::Duration;
    // Room enough for registering (a password hash) on a busy machine, not for the upload.
    let patient = TestApp::builder()
        .env("REQUEST_TIMEOUT_SECS", "3")
        .spawn()
        .await;
    let user = patient.register().await;
    let status = slow_upload(&patient, &user.access, Duration::from_secs(4)).await;
    assert!(status.starts_with("HTTP/1.1 201"), "{status}");

    let strict = TestApp::builder()
        .env("UPLOAD_TIMEOUT_SECS", "1")
        .spawn()
        .await;
    let user = strict.register().await;
    let status = slow_upload(&strict, &user.access, Duration::from_secs(2)).await;
    assert!(status.starts_with("HTTP/1.1 504"), "{status}");
    assert!(strict.stored_keys().await.is_empty());
}
