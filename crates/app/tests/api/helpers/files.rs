//! Files: an app on either storage driver (local disk, or S3 on a moto server), multipart
//! bodies, uploads, and waiting for processing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::moto;
use super::{TestApp, TestAppBuilder, TestResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Local,
    S3,
}

/// Generates one `#[tokio::test]` per driver for each `async fn name(driver: Driver)` listed,
/// in modules `local` and `s3`: the same suite on both.
#[macro_export]
macro_rules! on_both_drivers {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::files::Driver::Local).await
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::files::Driver::S3).await
                }
            )*
        }
    };
}

/// The app on `driver`; `None` (the test skips) when S3 is asked for and moto is missing.
pub async fn spawn(driver: Driver) -> Option<TestApp> {
    spawn_with(driver, TestApp::builder()).await
}

pub async fn spawn_with(driver: Driver, builder: TestAppBuilder) -> Option<TestApp> {
    match driver {
        Driver::Local => Some(builder.spawn().await),
        Driver::S3 => {
            let bucket = moto::bucket().await?;
            let builder = builder
                .env("S3_BUCKET_NAME", &bucket.name)
                .env("S3_ENDPOINT", &bucket.endpoint)
                .env("S3_FORCE_PATH_STYLE", "true")
                .env("S3_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "test-key")
                .env("AWS_SECRET_ACCESS_KEY", "test-secret");
            Some(builder.spawn().await)
        }
    }
}

/// One part of a multipart body.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn file(filename: &'a str, data: &'a [u8]) -> Self {
        Self {
            name: "file",
            filename: Some(filename),
            content_type: Some("application/octet-stream"),
            data,
        }
    }
}

pub const BOUNDARY: &str = "aios-test-boundary-7MA4YWxkTrZu0gW";

pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

impl TestApp {
    /// `POST /api/files` with these parts.
    pub async fn upload_parts(&self, token: &str, parts: &[Part<'_>]) -> TestResponse {
        self.post("/api/files")
            .bearer(token)
            .body(&multipart_type(), multipart(parts))
            .send()
            .await
    }

    /// Uploads one file, sent with a client type that must not matter.
    pub async fn upload(&self, token: &str, filename: &str, data: &[u8]) -> TestResponse {
        self.upload_parts(token, &[Part::file(filename, data)])
            .await
    }

    /// Uploads and returns the new file's JSON (asserting `201`).
    pub async fn uploaded(&self, token: &str, filename: &str, data: &[u8]) -> Value {
        let response = self.upload(token, filename, data).await;
        response.assert_status(201);
        response.json
    }

    /// Waits (up to 20 s) until the file's `status` is no longer `processing`.
    pub async fn processed(&self, token: &str, id: &str) -> Value {
        for _ in 0..400 {
            let file = self
                .get(&format!("/api/files/{id}"))
                .bearer(token)
                .send()
                .await;
            file.assert_status(200);
            if file.json["status"] != "processing" {
                return file.json;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("file {id} still processing after 20 s");
    }

    /// Every stored object (originals and thumbnails), as the storage lists them.
    pub async fn stored_keys(&self) -> Vec<String> {
        use futures::TryStreamExt as _;
        let mut keys = Vec::new();
        for prefix in ["files", "thumbs"] {
            let listed: Vec<_> = self
                .state
                .storage
                .list(prefix)
                .try_collect()
                .await
                .expect("storage lists");
            keys.extend(listed.into_iter().map(|o| o.key));
        }
        keys.sort();
        keys
    }

    /// Waits (up to 10 s) until storage holds exactly `count` objects.
    pub async fn wait_for_stored(&self, count: usize) -> Vec<String> {
        let mut keys = Vec::new();
        for _ in 0..200 {
            keys = self.stored_keys().await;
            if keys.len() == count {
                return keys;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} stored objects, found {keys:?}");
    }

    /// A raw GET with the client (no JSON parsing), for downloads.
    pub async fn download(&self, url: &str, headers: &[(&str, &str)]) -> Download {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            self.url(url)
        };
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("download request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("download body").to_vec();
        Download {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct Download {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}
