//! What the devices and notifications tests share: the three local push services at once
//! (Web Push and APNs over TLS, trusted through one `PUSH_CA_FILE`; FCM over plain HTTP), an
//! application configured for all of them, and helpers to register devices and send
//! notifications.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestAppBuilder, TestResponse};
use crate::push_apns::ApnsPeer;
use crate::push_fcm::{CLIENT_EMAIL, FcmPeer, REGISTRATION_TOKEN};
use crate::push_webpush::WebPushPeer;

/// The APNs device token the tests register (the local Apple accepts any).
pub fn apns_token() -> String {
    "5f".repeat(32)
}

pub fn fcm_token() -> &'static str {
    REGISTRATION_TOKEN
}

pub struct Peers {
    pub web: WebPushPeer,
    pub fcm: FcmPeer,
    pub apns: ApnsPeer,
    _ca_dir: tempfile::TempDir,
    ca_file: String,
}

impl Peers {
    pub async fn start() -> Self {
        let web = WebPushPeer::start().await;
        let fcm = FcmPeer::start().await;
        let apns = ApnsPeer::start().await;
        // One bundle with both test CAs: the application takes one PUSH_CA_FILE.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cas.pem");
        let web_ca = web
            .vars
            .iter()
            .find(|(k, _)| *k == "PUSH_CA_FILE")
            .map(|(_, v)| v.clone())
            .unwrap();
        let mut bundle = std::fs::read(&web_ca).unwrap();
        bundle.extend(std::fs::read(&apns.ca_file).unwrap());
        std::fs::write(&path, bundle).unwrap();
        Self {
            web,
            fcm,
            apns,
            ca_file: path.display().to_string(),
            _ca_dir: dir,
        }
    }

    /// A builder with every provider configured.
    pub fn app(&self) -> TestAppBuilder {
        let mut builder = TestApp::builder().env("PUSH_CA_FILE", &self.ca_file);
        let vars = self
            .web
            .vars
            .iter()
            .chain(self.apns.vars.iter())
            .cloned()
            .chain(self.fcm.vars(CLIENT_EMAIL));
        for (var, value) in vars {
            if var != "PUSH_CA_FILE" {
                builder = builder.env(var, &value);
            }
        }
        builder
    }

    pub fn web_received(&self) -> usize {
        self.web.service.received.lock().unwrap().len()
    }

    pub fn fcm_received(&self) -> usize {
        self.fcm.google.messages.lock().unwrap().len()
    }

    pub fn apns_received(&self) -> usize {
        self.apns.received().len()
    }
}

pub async fn register_device(
    app: &TestApp,
    access: &str,
    platform: &str,
    token: Value,
) -> TestResponse {
    app.post("/api/devices")
        .bearer(access)
        .json(&json!({"platform": platform, "token": token}))
        .send()
        .await
}

pub async fn devices_of(app: &TestApp, access: &str) -> Vec<Value> {
    let response = app.get("/api/devices").bearer(access).send().await;
    response.assert_status(200);
    response.json["items"].as_array().unwrap().clone()
}

/// An administrator sends `title`/`body` to `user_id`; the notification's id.
pub async fn notify(app: &TestApp, admin: &str, user_id: uuid::Uuid, title: &str) -> String {
    let response = app
        .post("/api/notifications")
        .bearer(admin)
        .json(
            &json!({"userId": user_id, "title": title, "body": format!("{title}: body"),
            "data": {"kind": "test", "n": 1}}),
        )
        .send()
        .await;
    response.assert_status(202);
    response.json["id"].as_str().unwrap().to_owned()
}

/// Up to 30 s: generous, because the suite shares two cores with builds and other tests.
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// How many jobs of `kind` are in `state`, as the admin API lists them.
pub async fn jobs_in(app: &TestApp, admin: &str, kind: &str, state: &str) -> u64 {
    let response = app
        .get(&format!("/api/admin/jobs?type={kind}&state={state}"))
        .bearer(admin)
        .send()
        .await;
    response.assert_status(200);
    response.json["total"].as_u64().unwrap_or(0)
}

/// Waits until every `notification:send` job so far is done: after it, a device it did not
/// see gets nothing from it.
pub async fn wait_fanned_out(app: &TestApp, admin: &str, count: u64) {
    wait_until("the fan-out jobs are done", async || {
        jobs_in(app, admin, "notification:send", "done").await >= count
    })
    .await;
}
