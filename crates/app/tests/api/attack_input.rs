//! Issue 7, item 10: small input gaps: control characters in search, blank and control
//! character passwords, bidirectional overrides in display strings.

use serde_json::json;

use crate::auth_support::unique_email;
use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn control_characters_in_the_item_search_are_refused_on_both_databases() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    app.post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "visible" }))
        .send()
        .await
        .assert_status(201);
    for q in ["%00", "a%00b", "%1B%5B31m", "x%0Ay"] {
        let response = app
            .get(&format!("/api/data?q={q}"))
            .bearer(&user.access)
            .send()
            .await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(response.detail_paths(), ["q"], "{q}");
    }
}

#[tokio::test]
async fn blank_and_control_character_passwords_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    for password in [
        " ".repeat(8),
        "\u{0}".repeat(8),
        "\u{3000}".repeat(8),
        "tab\tin the middle".to_owned(),
    ] {
        let register = app
            .post("/api/auth/register")
            .json(&json!({ "email": unique_email("blank"), "password": password }))
            .send()
            .await;
        register.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(register.detail_paths(), ["password"], "{password:?}");
        let change = app
            .post("/api/auth/change-password")
            .bearer(&user.access)
            .json(&json!({ "currentPassword": PASSWORD, "newPassword": password }))
            .send()
            .await;
        change.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(change.detail_paths(), ["newPassword"], "{password:?}");
    }
    // Spaces inside a passphrase are fine.
    app.post("/api/auth/register")
        .json(&json!({ "email": unique_email("ok"), "password": "  spaced out words  " }))
        .send()
        .await
        .assert_status(201);
}

#[tokio::test]
async fn bidirectional_overrides_are_refused_in_every_display_string() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let spoof = "invoice\u{202E}fdp.exe";
    let register = app
        .post("/api/auth/register")
        .json(
            &json!({ "email": unique_email("bidi"), "password": PASSWORD, "name": spoof,
            "device": { "name": spoof, "platform": "\u{2066}ios", "appVersion": "1\u{2069}" } }),
        )
        .send()
        .await;
    register.assert_error(400, "VALIDATION_FAILED");
    let mut paths = register.detail_paths();
    paths.sort();
    assert_eq!(
        paths,
        [
            "device.appVersion",
            "device.name",
            "device.platform",
            "name"
        ]
    );
    app.put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "name": spoof }))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    for body in [
        json!({ "name": spoof }),
        json!({ "name": "ok", "description": format!("line one\n{spoof}") }),
    ] {
        app.post("/api/data")
            .bearer(&user.access)
            .json(&body)
            .send()
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    // Right-to-left text itself, and newlines in descriptions, are fine.
    app.post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "שלום", "description": "line one\nline two" }))
        .send()
        .await
        .assert_status(201);
}

/// serde reads a struct from a JSON array of its field values as well as from an object; the
/// contract says object, so bodies, `device` and batch operations given as arrays are refused
/// with the field at fault (schemathesis found `device: ["a", "ios"]` accepted on login).
#[tokio::test]
async fn structs_given_as_json_arrays_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let login = app
        .post("/api/auth/login")
        .json(&json!({ "email": user.email, "password": PASSWORD, "device": ["phone", "ios"] }))
        .send()
        .await;
    login.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(login.detail_paths(), ["device"]);
    let register = app
        .post("/api/auth/register")
        .json(&json!({ "email": unique_email("array"), "password": PASSWORD, "device": [] }))
        .send()
        .await;
    register.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(register.detail_paths(), ["device"]);
    app.post("/api/auth/login")
        .json(&json!([user.email, PASSWORD]))
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    for operations in [
        json!([["create", null, null, { "name": "x" }]]),
        json!([{ "op": "create", "body": ["x", null, null] }]),
    ] {
        let batch = app
            .post("/api/data/batch")
            .bearer(&user.access)
            .json(&json!({ "operations": operations }))
            .send()
            .await;
        batch.assert_error(400, "VALIDATION_FAILED");
        assert!(
            batch.detail_paths()[0].starts_with("operations"),
            "{}",
            batch.text
        );
    }
    // Objects still work, with the device and without.
    app.post("/api/auth/login")
        .json(
            &json!({ "email": user.email, "password": PASSWORD, "device": { "platform": "ios" } }),
        )
        .send()
        .await
        .assert_status(200);
    app.post("/api/auth/login")
        .json(&json!({ "email": user.email, "password": PASSWORD, "device": null }))
        .send()
        .await
        .assert_status(200);
}
