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
    // The route's own statuses, and the shared ones the contract pass adds (414, 431, 500 on
    // every operation; 426, 429, 503 under /api/; 401 with a token; 400, 413, 415 on a JSON body).
    let shared = ["414", "426", "429", "431", "500", "503"];
    let expected: &[(&str, &str, &[&str])] = &[
        ("post", "/api/devices", &["201", "400", "401", "413", "415"]),
        ("get", "/api/devices", &["200", "401"]),
        ("delete", "/api/devices/{id}", &["204", "400", "401", "404"]),
        ("get", "/api/push/vapid-public-key", &["200", "404"]),
        ("get", "/api/notifications", &["200", "400", "401"]),
        (
            "post",
            "/api/notifications",
            &["202", "400", "401", "403", "404", "413", "415"],
        ),
        (
            "post",
            "/api/notifications/{id}/read",
            &["204", "400", "401", "404"],
        ),
        ("post", "/api/notifications/read-all", &["204", "401"]),
    ];
    for (method, path, codes) in expected {
        let mut codes: Vec<String> = codes.iter().chain(&shared).map(|c| c.to_string()).collect();
        codes.sort();
        assert_eq!(statuses(&doc, method, path), codes, "{method} {path}");
        let op = &doc["paths"][path][method];
        assert!(
            op["summary"].is_string() && op["description"].is_string(),
            "{method} {path}"
        );
    }
    assert_eq!(
        doc["paths"]["/api/push/vapid-public-key"]["get"]["security"],
        serde_json::json!([])
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Platform"]["enum"],
        serde_json::json!(["ios", "android", "web"])
    );
    // Client-friendly names, and the fields always written are required (nullable when null).
    for (path, method, status, schema) in [
        ("/api/devices", "post", "201", "Device"),
        ("/api/devices", "get", "200", "DeviceList"),
        ("/api/notifications", "post", "202", "Notification"),
        ("/api/notifications", "get", "200", "NotificationPage"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
                ["$ref"],
            format!("#/components/schemas/{schema}"),
            "{method} {path}"
        );
    }
    assert!(schemas.get("DeviceDto").is_none() && schemas.get("NotificationDto").is_none());
    assert_eq!(
        schemas["DeviceList"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Device"
    );
    let notification = &schemas["Notification"];
    for field in ["id", "title", "body", "data", "readAt", "createdAt"] {
        assert!(
            notification["required"]
                .as_array()
                .unwrap()
                .contains(&field.into()),
            "Notification.{field}"
        );
    }
    assert_eq!(
        notification["properties"]["readAt"]["type"],
        serde_json::json!(["string", "null"])
    );
    let page = &schemas["NotificationPage"];
    for field in ["items", "limit", "nextCursor", "unread"] {
        assert!(
            page["required"].as_array().unwrap().contains(&field.into()),
            "NotificationPage.{field}"
        );
    }
    assert_eq!(page["properties"]["total"]["type"], "integer", "{page}");
    for name in [
        "RegisterIosDevice",
        "RegisterAndroidDevice",
        "RegisterWebDevice",
        "PushSubscription",
        "SendNotification",
    ] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    // The token's form depends on the platform: a union on `platform`.
    let register = &schemas["RegisterDevice"];
    assert_eq!(register["discriminator"]["propertyName"], "platform");
    assert_eq!(
        register["oneOf"].as_array().map(Vec::len),
        Some(3),
        "{register}"
    );
    let ios = &schemas["RegisterIosDevice"]["properties"];
    assert_eq!(ios["platform"]["enum"], serde_json::json!(["ios"]));
    assert!(ios["token"]["pattern"].is_string());
    assert!(schemas.get("TokenInput").is_none());
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
    // Control characters, which the server refuses in display strings, are outside the schema
    // too (a pattern), as in the session's `device` fields.
    let printable = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$";
    assert_eq!(title["pattern"], printable);
    assert_eq!(
        schemas["DeviceInfo"]["properties"]["name"]["pattern"],
        printable
    );
    assert_eq!(
        schemas["ItemInput"]["properties"]["name"]["pattern"],
        printable
    );
    let limit = doc["paths"]["/api/notifications"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");
    let cursor = doc["paths"]["/api/notifications"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cursor")
        .unwrap()
        .clone();
    assert!(cursor["schema"]["pattern"].is_string(), "{cursor}");

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
