//! Delivery end to end: an administrator's notification reaches the inbox at once and every
//! registered device through the local push services (Web Push decrypted by the browser's
//! keys, FCM with a verified OAuth grant, APNs over HTTP/2 with a verified provider token);
//! dead tokens delete their devices; a provider that is down leaves its jobs retrying while the
//! API answers; a device of an ended session gets nothing more.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::devices_support::{
    Peers, apns_token, devices_of, fcm_token, jobs_in, notify, register_device, wait_fanned_out,
    wait_until,
};
use crate::helpers::{TestApp, TestUser};
use crate::push_apns::Reply as AppleReply;
use crate::push_fcm::Reply as GoogleReply;

/// The value of the sample `series` (name and labels) in a Prometheus text page, 0 if absent.
fn metric(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn register_all(app: &TestApp, peers: &Peers, user: &TestUser) {
    let web: Value = serde_json::from_str(&peers.web.subscription).unwrap();
    register_device(app, &user.access, "web", web)
        .await
        .assert_status(201);
    register_device(app, &user.access, "android", json!(fcm_token()))
        .await
        .assert_status(201);
    register_device(app, &user.access, "ios", json!(apns_token()))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_notification_reaches_the_inbox_at_once_and_every_device_once() {
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_all(&app, &peers, &user).await;

    let id = notify(&app, &admin.access, user.id, "Café at 5?").await;
    let inbox = app
        .get("/api/notifications")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(
        inbox.json["items"][0]["id"],
        id.as_str(),
        "in the inbox before any push"
    );
    wait_until("every device got it", async || {
        peers.web_received() == 1 && peers.fcm_received() == 1 && peers.apns_received() == 1
    })
    .await;

    let web = peers.web.service.received.lock().unwrap()[0]
        .payload
        .clone();
    assert_eq!(web["title"], "Café at 5?");
    assert_eq!(web["body"], "Café at 5?: body");
    assert_eq!(
        web["data"],
        json!({"kind": "test", "n": "1", "notificationId": id})
    );
    let fcm = peers.fcm.google.messages.lock().unwrap()[0].clone();
    assert_eq!(fcm["message"]["token"], fcm_token());
    assert_eq!(fcm["message"]["notification"]["title"], "Café at 5?");
    assert_eq!(fcm["message"]["data"]["notificationId"], id.as_str());
    let apns = peers.apns.received()[0].clone();
    assert_eq!(apns.device, apns_token());
    assert_eq!(apns.body["aps"]["alert"]["body"], "Café at 5?: body");

    // A second one: each device once more, none twice.
    notify(&app, &admin.access, user.id, "Second").await;
    wait_until("every push job is done", async || {
        jobs_in(&app, &admin.access, "push:device", "done").await == 6
    })
    .await;
    assert_eq!(
        (
            peers.web_received(),
            peers.fcm_received(),
            peers.apns_received()
        ),
        (2, 2, 2)
    );
    let metrics = app.get("/metrics").send().await.text;
    // The recorder is the process's: other tests count too, hence "at least".
    for provider in ["webpush", "fcm", "apns"] {
        let labels = format!("{{provider=\"{provider}\"}}");
        assert!(
            metric(&metrics, &format!("push_sent_total{labels}")) >= 2.0,
            "{metrics}"
        );
        let latency = format!("notification_delivery_latency_seconds_count{labels}");
        assert!(metric(&metrics, &latency) >= 2.0, "{metrics}");
    }
}

#[tokio::test]
async fn a_token_its_provider_reports_gone_deletes_the_device() {
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_all(&app, &peers, &user).await;
    peers.web.answer(StatusCode::GONE, None);
    peers.fcm.answer(GoogleReply::Unregistered);
    peers.apns.answer(AppleReply::Unregistered);
    notify(&app, &admin.access, user.id, "Anyone there?").await;
    wait_until("the dead devices are gone", async || {
        devices_of(&app, &user.access).await.is_empty()
    })
    .await;
    assert_eq!(
        (
            peers.web_received(),
            peers.fcm_received(),
            peers.apns_received()
        ),
        (1, 1, 1)
    );
    let metrics = app.get("/metrics").send().await.text;
    for provider in ["webpush", "fcm", "apns"] {
        let pruned = format!("push_pruned_total{{provider=\"{provider}\"}}");
        assert!(metric(&metrics, &pruned) >= 1.0, "{metrics}");
    }
    // Nothing is sent to them again.
    notify(&app, &admin.access, user.id, "Again").await;
    wait_fanned_out(&app, &admin.access, 2).await;
    assert_eq!(jobs_in(&app, &admin.access, "push:device", "done").await, 3);
    assert_eq!(
        (
            peers.web_received(),
            peers.fcm_received(),
            peers.apns_received()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn after_logout_nothing_more_is_pushed_to_that_sessions_devices() {
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let browser = app.register().await;
    let web: Value = serde_json::from_str(&peers.web.subscription).unwrap();
    register_device(&app, &browser.access, "web", web)
        .await
        .assert_status(201);
    let login = app.login(&browser.email, &browser.password).await;
    let phone = TestUser::from_tokens(&login.json, &browser.email, &browser.password);
    register_device(&app, &phone.access, "android", json!(fcm_token()))
        .await
        .assert_status(201);

    app.post("/api/auth/logout")
        .bearer(&browser.access)
        .send()
        .await
        .assert_status(204);
    notify(&app, &admin.access, browser.id, "After logout").await;
    wait_until("the phone got it", async || peers.fcm_received() == 1).await;
    wait_fanned_out(&app, &admin.access, 1).await;
    wait_until("its job is done", async || {
        jobs_in(&app, &admin.access, "push:device", "done").await == 1
    })
    .await;
    assert_eq!(
        peers.web_received(),
        0,
        "the logged-out browser gets nothing"
    );
    assert_eq!(
        jobs_in(&app, &admin.access, "push:device", "pending").await,
        0
    );
}

#[tokio::test]
async fn a_provider_that_is_down_leaves_its_job_retrying_while_the_api_answers() {
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_all(&app, &peers, &user).await;
    // Web Push is down and says when to come back; the others are fine.
    peers.web.answer(StatusCode::SERVICE_UNAVAILABLE, Some("1"));
    notify(&app, &admin.access, user.id, "Through the outage").await;
    wait_until("the other devices got it", async || {
        peers.fcm_received() == 1 && peers.apns_received() == 1
    })
    .await;
    wait_until(
        "the Web Push job failed and waits for its retry",
        async || jobs_in(&app, &admin.access, "push:device", "failed").await == 1,
    )
    .await;
    let listed = app
        .get("/api/admin/jobs?type=push:device&state=failed")
        .bearer(&admin.access)
        .send()
        .await;
    let job = &listed.json["items"][0];
    assert!(job["attempts"].as_u64().unwrap() >= 1, "{job}");
    assert!(job["lastError"].as_str().unwrap().contains("503"), "{job}");
    // The API answers meanwhile.
    app.get("/api/notifications")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(200);
    app.get("/health/ready").send().await.assert_status(200);

    peers.web.answer(StatusCode::CREATED, None);
    wait_until("the retry delivered it", async || {
        jobs_in(&app, &admin.access, "push:device", "done").await == 3
    })
    .await;
    // Every attempt reached the push service; the other devices got it exactly once.
    assert!(
        peers
            .web
            .service
            .requests
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 2
    );
    assert_eq!((peers.fcm_received(), peers.apns_received()), (1, 1));
}

#[tokio::test]
async fn a_provider_that_is_not_configured_is_skipped_and_its_job_completes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_device(&app, &user.access, "ios", json!(apns_token()))
        .await
        .assert_status(201);
    notify(&app, &admin.access, user.id, "Nowhere to go").await;
    wait_until("the push job is done", async || {
        jobs_in(&app, &admin.access, "push:device", "done").await == 1
    })
    .await;
    assert_eq!(jobs_in(&app, &admin.access, "push:device", "dead").await, 0);
    assert_eq!(
        devices_of(&app, &user.access).await.len(),
        1,
        "the device stays"
    );
}

#[tokio::test]
async fn a_rate_limited_push_is_retried_no_sooner_than_the_providers_retry_after() {
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    let web: Value = serde_json::from_str(&peers.web.subscription).unwrap();
    register_device(&app, &user.access, "web", web)
        .await
        .assert_status(201);
    peers.web.answer(StatusCode::TOO_MANY_REQUESTS, Some("300"));
    let sent_at = chrono::Utc::now();
    notify(&app, &admin.access, user.id, "Slow down").await;
    wait_until("the job failed once", async || {
        jobs_in(&app, &admin.access, "push:device", "failed").await == 1
    })
    .await;
    let listed = app
        .get("/api/admin/jobs?type=push:device&state=failed")
        .bearer(&admin.access)
        .send()
        .await;
    let run_at: chrono::DateTime<chrono::Utc> = listed.json["items"][0]["runAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        run_at >= sent_at + chrono::TimeDelta::seconds(295),
        "the retry is due at {run_at}, not 300 s after {sent_at}"
    );
}

#[tokio::test]
async fn a_notification_send_delivered_twice_pushes_once() {
    use aios_app::notifications::events::NotificationSend;
    use aios_app::platform::{db, jobs::outbox};

    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    register_device(&app, &user.access, "android", json!(fcm_token()))
        .await
        .assert_status(201);
    let id = notify(&app, &admin.access, user.id, "Once").await;
    wait_until("it arrived", async || peers.fcm_received() == 1).await;
    // The outbox delivers at least once: the same event again, as after a lost acknowledgement.
    let again = NotificationSend {
        user_id: user.id.into(),
        notification_id: id.parse::<uuid::Uuid>().unwrap().into(),
    };
    let txn = db::begin_write(&app.state.db).await.unwrap();
    outbox::enqueue(&txn, &again).await.unwrap();
    txn.commit().await.unwrap();
    app.state.wake_outbox_relay();
    wait_fanned_out(&app, &admin.access, 2).await;
    // The fan-out queues its device jobs in its own transaction: once it is done, they exist.
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let device_jobs = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::EventType.eq("push:device"))
        .count(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(device_jobs, 1, "the second delivery queued nothing");
    assert_eq!(peers.fcm_received(), 1, "no second push");
}
