//! `POST /api/files/{id}/url`: a signed, expiring link that needs no token. On local storage
//! it points at this server, which refuses it altered (`403`), expired (`403`) or once the
//! file is deleted (`404`); on S3 it is a presigned URL of the store.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::helpers::TestApp;
use crate::helpers::files::{Driver, spawn};
use crate::on_both_drivers;

on_both_drivers!(
    a_signed_link_downloads_without_a_token,
    a_deleted_files_link_is_not_found,
);

async fn link(app: &TestApp, token: &str, id: &str) -> (String, DateTime<Utc>) {
    let response = app
        .post(&format!("/api/files/{id}/url"))
        .bearer(token)
        .send()
        .await;
    response.assert_status(200);
    let url = response.json["url"].as_str().unwrap().to_owned();
    let expires = response.json["expiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (url, expires)
}

async fn a_signed_link_downloads_without_a_token(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let file = app
        .uploaded(&user.access, "report.txt", b"quarterly numbers")
        .await;
    let (url, expires) = link(&app, &user.access, file["id"].as_str().unwrap()).await;
    let ttl = expires - Utc::now();
    assert!(ttl > chrono::TimeDelta::minutes(14) && ttl <= chrono::TimeDelta::minutes(15));
    assert!(!url.contains(&user.access));
    if driver == Driver::Local {
        assert!(
            url.starts_with(&format!("{}/api/files/signed/", app.base)),
            "{url}"
        );
    }
    let got = app.download(&url, &[]).await;
    assert_eq!(got.status, 200, "{url}");
    assert_eq!(got.body, b"quarterly numbers");
    assert_eq!(got.header("content-type"), Some("text/plain"));
    let disposition = got.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("report.txt"), "{disposition}");
    let ranged = app.download(&url, &[("range", "bytes=-7")]).await;
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.body, b"numbers");
}

async fn a_deleted_files_link_is_not_found(driver: Driver) {
    let Some(app) = spawn(driver).await else {
        return;
    };
    let user = app.register().await;
    let file = app.uploaded(&user.access, "gone.txt", b"soon gone").await;
    let id = file["id"].as_str().unwrap();
    let (url, _) = link(&app, &user.access, id).await;
    assert_eq!(app.download(&url, &[]).await.status, 200);
    app.delete(&format!("/api/files/{id}"))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    if driver == Driver::Local {
        let got = app.download(&url, &[]).await;
        assert_eq!(got.status, 404);
        assert_eq!(got.json()["code"], "NOT_FOUND");
    } else {
        // The store answers for a presigned link, once the deletion job removed the bytes:
        // 404, or 403 where the credentials may not list the bucket (AWS's rule; moto's too).
        app.wait_for_stored(0).await;
        let got = app.download(&url, &[]).await;
        assert!(matches!(got.status.as_u16(), 403 | 404), "{}", got.status);
        assert_ne!(got.body, b"soon gone");
    }
}

#[tokio::test]
async fn a_tampered_link_is_forbidden() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let file = app.uploaded(&user.access, "a.txt", b"contents").await;
    let (url, _) = link(&app, &user.access, file["id"].as_str().unwrap()).await;
    let (base, token) = url.rsplit_once('/').unwrap();
    let mut forgeries = Vec::new();
    for at in [0, token.len() / 2, token.len() - 1] {
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        forgeries.push(String::from_utf8(bytes).unwrap());
    }
    forgeries.push(format!("{token}A"));
    forgeries.push(token[..token.len() - 4].to_owned());
    forgeries.push("garbage".to_owned());
    for forged in forgeries {
        let got = app.download(&format!("{base}/{forged}"), &[]).await;
        assert_eq!(got.status, 403, "{forged}");
        assert_eq!(got.json()["code"], "FORBIDDEN");
    }
    // A link to one file does not open another: the id is under the signature.
    let other = app.uploaded(&user.access, "b.txt", b"other").await;
    let (other_url, _) = link(&app, &user.access, other["id"].as_str().unwrap()).await;
    assert_ne!(other_url, url);
    assert_eq!(app.download(&url, &[]).await.body, b"contents");
}

#[tokio::test]
async fn an_expired_link_is_forbidden() {
    let app = TestApp::builder().env("FILE_URL_TTL", "1").spawn().await;
    let user = app.register().await;
    let file = app.uploaded(&user.access, "a.txt", b"short-lived").await;
    let (url, _) = link(&app, &user.access, file["id"].as_str().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let got = app.download(&url, &[]).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.json()["code"], "FORBIDDEN");
}

#[tokio::test]
async fn links_are_built_on_public_url_when_it_is_set() {
    let app = TestApp::builder()
        .env("PUBLIC_URL", "https://files.example.com/")
        .spawn()
        .await;
    let user = app.register().await;
    let file = app.uploaded(&user.access, "a.txt", b"x").await;
    let (url, _) = link(&app, &user.access, file["id"].as_str().unwrap()).await;
    assert!(
        url.starts_with("https://files.example.com/api/files/signed/"),
        "{url}"
    );
}
