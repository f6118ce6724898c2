//! The `file:uploaded` job: checks the stored bytes, makes a 256 px thumbnail of an image
//! (re-encoded, so nothing of the original's metadata survives) and marks the file `ready`;
//! a corrupt image or a pixel bomb ends `failed`, quickly, with the original downloadable.

use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use crate::helpers::files::{Driver, spawn};
use crate::helpers::fixtures;
use crate::on_both_drivers;

on_both_drivers!(
    an_image_gets_a_thumbnail_reachable_through_its_signed_link,
    the_thumbnail_of_a_jpeg_with_gps_tags_carries_no_exif,
    a_corrupt_image_fails_and_stays_downloadable,
);

async fn download_original(app: &TestApp, token: &str, id: &str) -> Vec<u8> {
    let auth = format!("Bearer {token}");
    let got = app
        .download(
            &format!("/api/files/{id}/content"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(got.status, 200);
    got.body
}

async fn an_image_gets_a_thumbnail_reachable_through_its_signed_link(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let file = app
        .uploaded(&user.access, "wide.png", &fixtures::png(1000, 500))
        .await;
    assert!(
        file.get("thumbnailUrl").is_none(),
        "no thumbnail while processing"
    );
    let id = file["id"].as_str().unwrap();
    let done = app.processed(&user.access, id).await;
    assert_eq!(done["status"], "ready");
    let url = done["thumbnailUrl"].as_str().expect("a thumbnail link");
    let thumbnail = app.download(url, &[]).await;
    assert_eq!(thumbnail.status, 200, "{url}");
    assert_eq!(thumbnail.header("content-type"), Some("image/jpeg"));
    let decoded = image::load_from_memory(&thumbnail.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 128));
    assert_eq!(app.stored_keys().await.len(), 2);
    // Text is checked and ready, with no thumbnail.
    let text = app
        .uploaded(&user.access, "notes.txt", b"plain words")
        .await;
    let text = app
        .processed(&user.access, text["id"].as_str().unwrap())
        .await;
    assert_eq!(text["status"], "ready");
    assert!(text.get("thumbnailUrl").is_none());
}

async fn the_thumbnail_of_a_jpeg_with_gps_tags_carries_no_exif(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let original = fixtures::jpeg_with_gps(400, 200);
    assert!(
        fixtures::jpeg_markers(&original).contains(&0xE1),
        "the fixture has EXIF"
    );
    let file = app
        .uploaded(&user.access, "where-i-live.jpg", &original)
        .await;
    assert_eq!(file["contentType"], "image/jpeg");
    let id = file["id"].as_str().unwrap();
    let done = app.processed(&user.access, id).await;
    assert_eq!(done["status"], "ready", "{done}");
    let thumbnail = app
        .download(done["thumbnailUrl"].as_str().unwrap(), &[])
        .await;
    assert_eq!(thumbnail.status, 200);
    let markers = fixtures::jpeg_markers(&thumbnail.body);
    assert!(!markers.is_empty(), "a JPEG");
    assert!(
        markers.iter().all(|m| !(0xE1..=0xEF).contains(m)),
        "no APP1..APP15 segment (EXIF, XMP, ICC...): {markers:02X?}"
    );
    let body = &thumbnail.body;
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"Exif") && !contains(fixtures::CAMERA_MAKE));
    // The orientation tag was applied to the pixels before it was dropped.
    let decoded = image::load_from_memory(body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (128, 256));
    // The original is served as it was uploaded.
    assert_eq!(download_original(&app, &user.access, id).await, original);
}

async fn a_corrupt_image_fails_and_stays_downloadable(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let mut corrupt = fixtures::png(300, 300);
    corrupt.truncate(corrupt.len() / 2);
    corrupt.extend_from_slice(&[0xAB; 200]);
    let file = app.uploaded(&user.access, "broken.png", &corrupt).await;
    assert_eq!(file["contentType"], "image/png");
    let id = file["id"].as_str().unwrap();
    let done = app.processed(&user.access, id).await;
    assert_eq!(done["status"], "failed");
    assert!(done.get("thumbnailUrl").is_none());
    assert!(
        done.get("failure").is_none(),
        "the reason stays server-side"
    );
    assert_eq!(download_original(&app, &user.access, id).await, corrupt);
    assert_eq!(app.stored_keys().await.len(), 1);
}

#[tokio::test]
async fn pixel_bombs_fail_at_once_without_being_decoded() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    // Past the dimension limit, and within it but far past the decoding budget.
    for (width, height) in [(100_000, 100_000), (16_000, 16_000)] {
        let bomb = fixtures::pixel_bomb(width, height);
        assert!(bomb.len() < 100);
        let started = Instant::now();
        let file = app.uploaded(&user.access, "bomb.png", &bomb).await;
        let id = file["id"].as_str().unwrap();
        let done = app.processed(&user.access, id).await;
        assert_eq!(done["status"], "failed", "{width}x{height}");
        // Refused from the header: a decode of 16000x16000 RGBA (1 GiB) would take far longer.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(download_original(&app, &user.access, id).await, bomb);
    }
}

#[tokio::test]
async fn bytes_that_changed_in_storage_fail_the_checksum() {
    let app = TestApp::builder()
        .env("JOBS_IN_PROCESS", "false")
        .spawn()
        .await;
    let user = app.register().await;
    let file = app
        .uploaded(&user.access, "a.txt", b"the original words")
        .await;
    let id = file["id"].as_str().unwrap();
    app.state
        .storage
        .put(
            &format!("files/{id}"),
            bytes::Bytes::from_static(b"tampered words!!!!"),
        )
        .await
        .unwrap();
    let worker = aios_app::server::start_worker(&app.state, aios_app::server::Jobs::default());
    let done = app.processed(&user.access, id).await;
    worker.stop(Duration::from_secs(5)).await;
    assert_eq!(done["status"], "failed");
}
