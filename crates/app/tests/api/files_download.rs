//! `GET /api/files/{id}/content`: the stored bytes with the sniffed type, headers that keep
//! browsers from rendering them, single ranges in every form, conditional requests; and
//! another user's file id on every route.

use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::files::{Driver, spawn};
use crate::helpers::fixtures;
use crate::on_both_drivers;

on_both_drivers!(
    a_download_carries_the_sniffed_type_and_the_safe_headers,
    every_form_of_range_is_answered,
    conditional_requests_use_the_content_etag,
);

/// 1000 bytes whose every position is recognisable: `0123456789` repeated.
fn digits() -> Vec<u8> {
    (0..1000u32).map(|i| b'0' + (i % 10) as u8).collect()
}

async fn a_download_carries_the_sniffed_type_and_the_safe_headers(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let png = fixtures::png(20, 20);
    let file = app.uploaded(&user.access, "résumé final.txt", &png).await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/files/{id}/content");
    let auth = format!("Bearer {}", user.access);
    let got = app
        .download(
            &path,
            &[("authorization", &auth), ("accept-encoding", "gzip, br")],
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, png);
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(
        got.header("content-length"),
        Some(png.len().to_string().as_str())
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("cache-control"), Some("private"));
    assert_eq!(got.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        got.header("content-encoding"),
        None,
        "downloads go out as stored"
    );
    let etag = format!("\"{}\"", file["sha256"].as_str().unwrap());
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    assert_eq!(
        got.header("content-disposition"),
        Some(
            "attachment; filename=\"r_sum_ final.txt\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt"
        )
    );
    assert!(got.header("x-request-id").is_some());
    app.get(&path)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

async fn every_form_of_range_is_answered(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let data = digits();
    let file = app.uploaded(&user.access, "digits.txt", &data).await;
    let path = format!("/api/files/{}/content", file["id"].as_str().unwrap());
    let auth = format!("Bearer {}", user.access);
    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=995-", 995, 1000),
        ("bytes=-7", 993, 1000),
        ("bytes=10-10", 10, 11),
        ("bytes=990-5000", 990, 1000),
        ("bytes=-5000", 0, 1000),
    ] {
        let got = app
            .download(&path, &[("authorization", &auth), ("range", range)])
            .await;
        assert_eq!(got.status, 206, "{range}");
        assert_eq!(got.body, data[start..end], "{range}");
        let content_range = format!("bytes {start}-{}/1000", end - 1);
        assert_eq!(
            got.header("content-range"),
            Some(content_range.as_str()),
            "{range}"
        );
        let length = (end - start).to_string();
        assert_eq!(
            got.header("content-length"),
            Some(length.as_str()),
            "{range}"
        );
        assert_eq!(got.header("content-type"), Some("text/plain"), "{range}");
    }
    // Not one byte range: the whole file, as RFC 9110 allows.
    for range in ["bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=x-"] {
        let got = app
            .download(&path, &[("authorization", &auth), ("range", range)])
            .await;
        assert_eq!(got.status, 200, "{range}");
        assert_eq!(got.body, data, "{range}");
        assert_eq!(got.header("content-range"), None, "{range}");
    }
    for range in ["bytes=1000-", "bytes=1000-1001", "bytes=-0"] {
        let got = app
            .download(&path, &[("authorization", &auth), ("range", range)])
            .await;
        assert_eq!(got.status, 416, "{range}");
        assert_eq!(got.header("content-range"), Some("bytes */1000"), "{range}");
        assert_eq!(got.json()["code"], "RANGE_NOT_SATISFIABLE", "{range}");
    }
}

async fn conditional_requests_use_the_content_etag(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let data = digits();
    let file = app.uploaded(&user.access, "digits.txt", &data).await;
    let path = format!("/api/files/{}/content", file["id"].as_str().unwrap());
    let auth = format!("Bearer {}", user.access);
    let etag = format!("\"{}\"", file["sha256"].as_str().unwrap());
    let unchanged = app
        .download(&path, &[("authorization", &auth), ("if-none-match", &etag)])
        .await;
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.body.is_empty());
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
    let changed = app
        .download(
            &path,
            &[("authorization", &auth), ("if-none-match", "\"stale\"")],
        )
        .await;
    assert_eq!(changed.status, 200);
    // A range of another version is not spliced onto this one.
    let guarded = [("authorization", auth.as_str()), ("range", "bytes=0-9")];
    let same = app
        .download(&path, &[guarded[0], guarded[1], ("if-range", &etag)])
        .await;
    assert_eq!(same.status, 206);
    let other = app
        .download(&path, &[guarded[0], guarded[1], ("if-range", "\"older\"")])
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, data);
}

#[tokio::test]
async fn another_users_file_is_not_found_on_every_route() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let stranger = app.register().await;
    let file = app
        .uploaded(&owner.access, "mine.txt", b"private words")
        .await;
    let id = file["id"].as_str().unwrap();
    let routes = [
        app.get(&format!("/api/files/{id}")),
        app.get(&format!("/api/files/{id}/content")),
        app.post(&format!("/api/files/{id}/url")),
        app.delete(&format!("/api/files/{id}")),
    ];
    for request in routes {
        request
            .bearer(&stranger.access)
            .send()
            .await
            .assert_error(404, "NOT_FOUND");
    }
    let list = app.get("/api/files").bearer(&stranger.access).send().await;
    assert_eq!(list.json["items"], json!([]));
    // Still there for its owner.
    let content = app
        .download(
            &format!("/api/files/{id}/content"),
            &[("authorization", &format!("Bearer {}", owner.access))],
        )
        .await;
    assert_eq!(content.body, b"private words");
    app.get("/api/files/not-a-uuid")
        .bearer(&owner.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_browser_on_an_allowed_origin_may_download_by_range() {
    let origin = "https://app.example.com";
    let app = TestApp::builder().env("CORS_ORIGINS", origin).spawn().await;
    let user = app.register().await;
    let file = app.uploaded(&user.access, "digits.txt", &digits()).await;
    let path = format!("/api/files/{}/content", file["id"].as_str().unwrap());
    let preflight = app
        .request(reqwest::Method::OPTIONS, &path)
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization, range, if-range",
        )
        .send()
        .await;
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("range") && allowed.contains("if-range"),
        "{allowed}"
    );
    let auth = format!("Bearer {}", user.access);
    let ranged = app
        .download(
            &path,
            &[
                ("authorization", &auth),
                ("range", "bytes=-3"),
                ("origin", origin),
            ],
        )
        .await;
    assert_eq!(ranged.status, 206);
    let exposed = ranged
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("content-range") && exposed.contains("etag"),
        "{exposed}"
    );
}
