//! The devices and notifications operations in the OpenAPI document: statuses, the platform
//! enum, strict request schemas with their bounds, and examples the server accepts.

use serde_json::Value;

use crate::helpers::TestApp;

fn statuses(doc: &Value, method: &str, path: &str) -> Vec<String> {
    let mut statuses: Vec<String> = doc["paths"][path][method]["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    statuses.sort();
    statuses
}

#[tokio::test]
async fn the_devices_and_notifications_operations_are_documented_and_their_examples_work() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let expected: &[(&str, &str, &[&str])] = &[
        (
            "post",
            "/api/devices",
            &["201", "400", "401", "413", "415", "429"],
        ),
        ("get", "/api/devices", &["200", "401", "429"]),
        (
            "delete",
            "/api/devices/{id}",
            &["204", "400", "401", "404", "429"],
        ),
        ("get", "/api/push/vapid-public-key", &["200", "404", "429"]),
        ("get", "/api/notifications", &["200", "400", "401", "429"]),
        (
            "post",
            "/api/notifications",
            &["202", "400", "401", "403", "404", "413", "415", "429"],
        ),
        (
            "post",
            "/api/notifications/{id}/read",
            &["204", "400", "401", "404", "429"],
        ),
        (
            "post",
            "/api/notifications/read-all",
            &["204", "401", "429"],
        ),
    ];
    for (method, path, codes) in expected {
        assert_eq!(statuses(&doc, method, path), *codes, "{method} {path}");
    }
    assert!(doc["paths"]["/api/push/vapid-public-key"]["get"]["security"].is_null());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Platform"]["enum"],
        serde_json::json!(["ios", "android", "web"])
    );
    for name in ["RegisterDevice", "SendNotification"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    let mut required: Vec<&str> = schemas["SendNotification"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort();
    assert_eq!(required, ["body", "title", "userId"]);
    let title = &schemas["SendNotification"]["properties"]["title"];
    assert_eq!(
        (title["minLength"].as_u64(), title["maxLength"].as_u64()),
        (Some(1), Some(200))
    );
    assert!(
        schemas["TokenInput"]["oneOf"].is_array(),
        "{}",
        schemas["TokenInput"]
    );
    let limit = doc["paths"]["/api/notifications"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");

    // The documented examples are accepted as they are.
    let user = app.register().await;
    let examples = doc["paths"]["/api/devices"]["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(examples.len(), 3);
    for (name, example) in examples {
        app.post("/api/devices")
            .bearer(&user.access)
            .json(&example["value"])
            .send()
            .await
            .assert_status(201);
        let _ = name;
    }
    let admin = app.admin().await;
    let mut example = schemas["SendNotification"]["example"].clone();
    example["userId"] = serde_json::json!(user.id);
    app.post("/api/notifications")
        .bearer(&admin.access)
        .json(&example)
        .send()
        .await
        .assert_status(202);
}
