//! The OpenAPI document and the interactive reference at `/docs`.

use crate::helpers::TestApp;

/// Every operation of the contract implemented so far, with its handler's operation id.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("get", "/health", "health"),
    ("get", "/health/live", "live"),
    ("get", "/health/ready", "ready"),
    ("get", "/metrics", "metrics"),
    ("post", "/api/auth/register", "register"),
    ("post", "/api/auth/login", "login"),
    ("post", "/api/auth/refresh", "refreshToken"),
    ("post", "/api/auth/logout", "logout"),
    ("post", "/api/auth/logout-all", "logoutAll"),
    ("post", "/api/auth/reset-password", "requestPasswordReset"),
    (
        "post",
        "/api/auth/reset-password/confirm",
        "confirmPasswordReset",
    ),
    ("post", "/api/auth/change-password", "changePassword"),
    ("post", "/api/auth/verify-email", "verifyEmail"),
    (
        "post",
        "/api/auth/verify-email/resend",
        "resendVerificationEmail",
    ),
    ("get", "/api/auth/sessions", "listSessions"),
    ("delete", "/api/auth/sessions/{id}", "revokeSession"),
    ("get", "/api/users/me", "getMe"),
    ("put", "/api/users/me", "updateMe"),
    ("delete", "/api/users/me", "deleteMe"),
    ("get", "/api/users/me/export", "exportMe"),
    ("get", "/api/users/{id}", "getUser"),
    ("get", "/api/users", "listUsers"),
    ("get", "/api/admin/jobs", "listJobs"),
    ("get", "/api/admin/jobs/{id}", "getJob"),
    ("delete", "/api/admin/jobs/{id}", "deleteJob"),
    ("post", "/api/admin/jobs/{id}/retry", "retryJob"),
    ("get", "/api/data", "listItems"),
    ("post", "/api/data", "createItem"),
    ("get", "/api/data/{id}", "getItem"),
    ("put", "/api/data/{id}", "replaceItem"),
    ("delete", "/api/data/{id}", "deleteItem"),
    ("post", "/api/data/batch", "batchItems"),
    ("get", "/api/data/changes", "listChanges"),
    ("post", "/api/files", "uploadFile"),
    ("get", "/api/files", "listFiles"),
    ("get", "/api/files/{id}", "getFile"),
    ("delete", "/api/files/{id}", "deleteFile"),
    ("get", "/api/files/{id}/content", "downloadFile"),
    ("post", "/api/files/{id}/url", "createFileUrl"),
    ("get", "/api/files/signed/{token}", "downloadSigned"),
    ("post", "/api/devices", "registerDevice"),
    ("get", "/api/devices", "listDevices"),
    ("delete", "/api/devices/{id}", "deleteDevice"),
    ("get", "/api/push/vapid-public-key", "getVapidPublicKey"),
    ("get", "/api/notifications", "listNotifications"),
    ("post", "/api/notifications", "sendNotification"),
    ("post", "/api/notifications/{id}/read", "readNotification"),
    (
        "post",
        "/api/notifications/read-all",
        "readAllNotifications",
    ),
];

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_operation() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/openapi.json").send().await;
    response.assert_status(200);
    let doc = &response.json;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    for (method, path, operation_id) in OPERATIONS {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["operationId"], *operation_id, "{method} {path}");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} documents responses"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .map(|paths| {
            paths
                .values()
                .map(|p| p.as_object().map_or(0, |o| o.len()))
                .sum()
        })
        .unwrap_or_default();
    assert_eq!(
        documented,
        OPERATIONS.len(),
        "no undocumented extras, none missing"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ErrorBody",
        "ErrorCode",
        "FieldError",
        "TokenResponse",
        "User",
        "Item",
        "HealthReport",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Request schemas are strict, as the server is.
    assert_eq!(
        schemas["RegisterRequest"]["additionalProperties"], false,
        "{}",
        schemas["RegisterRequest"]
    );
}

/// The statuses a route documents.
fn statuses(doc: &serde_json::Value, method: &str, path: &str) -> Vec<String> {
    let mut statuses: Vec<String> = doc["paths"][path][method]["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    statuses.sort();
    statuses
}

fn header_params(doc: &serde_json::Value, method: &str, path: &str) -> Vec<String> {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_files_operations_document_their_bodies_statuses_and_headers() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let upload = &doc["paths"]["/api/files"]["post"];
    let form = &upload["requestBody"]["content"]["multipart/form-data"];
    assert!(form["schema"].is_object(), "{}", upload["requestBody"]);
    assert_eq!(upload["tags"][0], "files");
    assert_eq!(
        statuses(&doc, "post", "/api/files"),
        [
            "201", "400", "401", "403", "409", "413", "414", "415", "422", "426", "429", "431",
            "500", "503", "504"
        ]
    );
    assert_eq!(
        statuses(&doc, "get", "/api/files/{id}/content"),
        [
            "200", "206", "304", "400", "401", "404", "414", "416", "426", "429", "431", "500",
            "503"
        ]
    );
    assert_eq!(
        statuses(&doc, "get", "/api/files/signed/{token}"),
        [
            "200", "206", "304", "400", "403", "404", "414", "416", "426", "429", "431", "500",
            "503"
        ]
    );
    assert_eq!(
        statuses(&doc, "post", "/api/files/{id}/url"),
        [
            "200", "400", "401", "404", "414", "426", "429", "431", "500", "503"
        ]
    );
    assert_eq!(
        statuses(&doc, "delete", "/api/files/{id}"),
        [
            "204", "400", "401", "404", "414", "426", "429", "431", "500", "503"
        ]
    );
    let download = header_params(&doc, "get", "/api/files/{id}/content");
    for header in ["Range", "If-Range", "If-None-Match"] {
        assert!(download.contains(&header.to_owned()), "{download:?}");
    }
    assert_eq!(
        upload["parameters"][0]["$ref"],
        "#/components/parameters/IdempotencyKey"
    );
    // The signed route is the one without a bearer requirement.
    assert_eq!(
        doc["paths"]["/api/files/signed/{token}"]["get"]["security"],
        serde_json::json!([])
    );
    assert!(doc["paths"]["/api/files/{id}/content"]["get"]["security"].is_array());
    for name in ["FileInfo", "FileUrl", "ExportedFile", "ItemPage", "Session"] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name}"
        );
    }
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(tags.contains(&"files"), "{tags:?}");
}

#[tokio::test]
async fn docs_are_served_from_the_server_itself() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs").send().await;
    page.assert_status(200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(page.text.contains("/docs/scalar.js"));
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "no CDN"
    );
    let csp = page
        .header("content-security-policy")
        .expect("CSP on /docs");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");

    let bundle = app.get("/docs/scalar.js").send().await;
    bundle.assert_status(200);
    assert!(
        bundle.text.len() > 100_000,
        "the bundled reference ships inside the binary"
    );
    let init = app.get("/docs/init.js").send().await;
    init.assert_status(200);
    assert!(init.text.contains("/api/openapi.json"));
}
