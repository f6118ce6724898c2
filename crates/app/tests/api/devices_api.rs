//! `POST/GET/DELETE /api/devices` and the VAPID key: registration per platform, the same token
//! again, tokens checked for their provider and never echoed, other users' devices.

use serde_json::{Value, json};

use crate::devices_support::{Peers, apns_token, devices_of, fcm_token, register_device};
use crate::helpers::TestApp;

fn web_subscription(endpoint: &str) -> Value {
    // A valid P-256 point and a 16-byte secret, base64url.
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg"}})
}

#[tokio::test]
async fn devices_register_list_and_delete_without_echoing_tokens() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let ios = register_device(&app, &user.access, "ios", json!(apns_token())).await;
    ios.assert_status(201);
    assert_eq!(ios.json["platform"], "ios");
    assert!(ios.json["createdAt"].is_string());
    assert!(ios.json.get("token").is_none(), "{}", ios.text);
    let android = register_device(&app, &user.access, "android", json!(fcm_token())).await;
    android.assert_status(201);
    // The subscription as an object, and as the string JSON.stringify gives.
    let web = register_device(
        &app,
        &user.access,
        "web",
        web_subscription("https://push.example.com/a"),
    )
    .await;
    web.assert_status(201);
    let web_text = web_subscription("https://push.example.com/b").to_string();
    register_device(&app, &user.access, "web", json!(web_text))
        .await
        .assert_status(201);

    let listed = devices_of(&app, &user.access).await;
    assert_eq!(listed.len(), 4);
    let text = serde_json::to_string(&listed).unwrap();
    assert!(
        !text.contains(&apns_token())
            && !text.contains(fcm_token())
            && !text.contains("push.example.com"),
        "{text}"
    );
    assert!(listed.iter().all(|d| d["current"] == true));
    assert_eq!(listed[0]["id"], ios.json["id"]);

    let id = android.json["id"].as_str().unwrap();
    app.delete(&format!("/api/devices/{id}"))
        .bearer(&user.access)
        .send()
        .await
        .assert_status(204);
    app.delete(&format!("/api/devices/{id}"))
        .bearer(&user.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(devices_of(&app, &user.access).await.len(), 3);
    app.get("/api/devices")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_same_token_again_updates_the_device_and_moves_it_to_the_new_session_or_account() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let first = register_device(&app, &user.access, "android", json!(fcm_token())).await;
    first.assert_status(201);
    // The same user in another session (a new login on the same phone).
    let again = app.login(&user.email, &user.password).await;
    again.assert_status(200);
    let second_access = again.json["accessToken"].as_str().unwrap();
    let second = register_device(&app, second_access, "android", json!(fcm_token())).await;
    second.assert_status(201);
    assert_eq!(second.json["id"], first.json["id"]);
    let listed = devices_of(&app, second_access).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["current"], true,
        "bound to the session that registered it last"
    );
    assert_eq!(devices_of(&app, &user.access).await[0]["current"], false);

    // A web subscription is the same device by its endpoint, whatever its keys.
    let mut web = web_subscription("https://push.example.com/same");
    let web_first = register_device(&app, &user.access, "web", web.clone()).await;
    web["keys"]["auth"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let web_again = register_device(&app, &user.access, "web", web).await;
    assert_eq!(web_first.json["id"], web_again.json["id"]);

    // Another account signs in on the phone: the token moves there, as a new device.
    let other = app.register().await;
    let moved = register_device(&app, &other.access, "android", json!(fcm_token())).await;
    moved.assert_status(201);
    assert_ne!(moved.json["id"], first.json["id"]);
    assert_eq!(
        devices_of(&app, &user.access).await.len(),
        1,
        "only the web device is left"
    );
    assert_eq!(devices_of(&app, &other.access).await.len(), 1);
}

#[tokio::test]
async fn tokens_are_checked_for_their_platforms_provider() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("ios", json!("not-hex"), "token"),
        ("ios", json!("ab".repeat(31)), "token"),
        ("android", json!(""), "token"),
        ("android", json!("has space"), "token"),
        ("android", json!({"endpoint": "x"}), "token"),
        ("web", json!("not json"), "token"),
        ("web", json!(42), "token"),
        (
            "web",
            web_subscription("http://push.example.com/x"),
            "token.endpoint",
        ),
        (
            "web",
            web_subscription("https://10.0.0.1/x"),
            "token.endpoint",
        ),
        (
            "web",
            {
                let mut s = web_subscription("https://push.example.com/x");
                s["keys"]["p256dh"] = json!("AAAA");
                s
            },
            "token.keys.p256dh",
        ),
        (
            "web",
            {
                let mut s = web_subscription("https://push.example.com/x");
                s["keys"]["auth"] = json!("AAAA");
                s
            },
            "token.keys.auth",
        ),
        (
            "web",
            {
                let mut s = web_subscription("https://push.example.com/x");
                s["role"] = json!("admin");
                s
            },
            "token",
        ),
    ];
    for (platform, token, path) in cases {
        let response = register_device(&app, &user.access, platform, token.clone()).await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(
            response.detail_paths(),
            vec![path.to_owned()],
            "{platform} {token}: {}",
            response.text
        );
    }
    let unknown = register_device(&app, &user.access, "windows", json!("x")).await;
    unknown.assert_error(400, "VALIDATION_FAILED");
    let extra = app
        .post("/api/devices")
        .bearer(&user.access)
        .json(&json!({"platform": "ios", "token": apns_token(), "userId": user.id}))
        .send()
        .await;
    extra.assert_error(400, "VALIDATION_FAILED");
    let form = app
        .post("/api/devices")
        .bearer(&user.access)
        .body("text/plain", "platform=ios")
        .send()
        .await;
    form.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(devices_of(&app, &user.access).await.is_empty());
}

#[tokio::test]
async fn another_users_device_is_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let stranger = app.register().await;
    let device = register_device(&app, &owner.access, "ios", json!(apns_token())).await;
    let id = device.json["id"].as_str().unwrap();
    app.delete(&format!("/api/devices/{id}"))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    assert!(devices_of(&app, &stranger.access).await.is_empty());
    assert_eq!(devices_of(&app, &owner.access).await.len(), 1);
    app.delete("/api/devices/not-a-uuid")
        .bearer(&owner.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn the_vapid_public_key_is_served_only_when_web_push_is_configured() {
    let plain = TestApp::spawn().await;
    plain
        .get("/api/push/vapid-public-key")
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let peers = Peers::start().await;
    let app = peers.app().spawn().await;
    let response = app.get("/api/push/vapid-public-key").send().await;
    response.assert_status(200);
    let expected = peers
        .web
        .vars
        .iter()
        .find(|(k, _)| *k == "VAPID_PUBLIC_KEY")
        .unwrap();
    assert_eq!(response.json, json!({"publicKey": expected.1}));
}
