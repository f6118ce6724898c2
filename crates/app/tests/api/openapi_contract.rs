//! The OpenAPI document as a contract: every operation fully described, and every request
//! example in it accepted by the server.

use serde_json::Value;

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                found.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    found
}

/// `value`, or what its `$ref` points at.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => value,
    }
}

#[tokio::test]
async fn every_operation_has_a_summary_an_id_security_and_described_responses() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "{}", ops.len());
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        for field in ["summary", "description"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{at}: {field}"
            );
        }
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{at}: camelCase operation id {id:?}"
        );
        assert!(
            id.starts_with(|c: char| c.is_ascii_lowercase()),
            "{at}: {id}"
        );
        assert!(op["tags"][0].is_string(), "{at}: tag");
        assert!(op["security"].is_array(), "{at}: explicit security");
        let responses = op["responses"].as_object().expect("responses");
        assert!(responses.contains_key("500"), "{at}: 500");
        for (status, response) in responses {
            let response = resolve(&doc, response);
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{at} {status}: description"
            );
            assert!(
                response["headers"]["X-Request-Id"].is_object(),
                "{at} {status}: X-Request-Id"
            );
            if path.starts_with("/api/") && status.starts_with(['4', '5']) {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{at} {status}");
            }
        }
        if op["requestBody"]["content"]["application/json"].is_object() {
            assert!(responses.contains_key("415"), "{at}: 415 on a JSON body");
        }
        if path.starts_with("/api/") {
            assert!(responses.contains_key("429"), "{at}: 429");
        }
    }
    // Public routes say so; the bearer ones name the scheme.
    let login = &doc["paths"]["/api/auth/login"]["post"];
    assert_eq!(login["security"], serde_json::json!([]));
    let me = &doc["paths"]["/api/users/me"]["get"];
    assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
    assert!(me["responses"]["401"].is_object());
    // The served document names the origin it was reached at.
    let server = doc["servers"][0]["url"].as_str().unwrap_or_default();
    assert_eq!(server, app.url(""), "{}", doc["servers"]);
}

/// The JSON request example of an operation, if it has one.
fn example(op: &Value) -> Option<Value> {
    op["requestBody"]["content"]["application/json"]
        .get("example")
        .cloned()
}

#[tokio::test]
async fn every_request_example_in_the_document_is_accepted() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let mut examples: Vec<(String, String, Value)> = operations(&doc)
        .into_iter()
        .filter_map(|(method, path, op)| example(&op).map(|e| (method, path, e)))
        .collect();
    // In an order that lets each succeed: an account first, deleted last; the new password
    // of change-password is the one the deletion example gives.
    let rank = |path: &str| match path {
        "/api/auth/register" => 0,
        "/api/auth/login" => 1,
        "/api/auth/change-password" => 8,
        "/api/users/me" => 9,
        _ => 5,
    };
    examples.sort_by_key(|(method, path, _)| (rank(path), method == "delete"));
    let posted: Vec<String> = examples
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    for expected in [
        "post /api/auth/register",
        "post /api/auth/login",
        "post /api/data",
        "put /api/data/{id}",
        "post /api/data/batch",
    ] {
        assert!(posted.contains(&expected.to_owned()), "{posted:?}");
    }

    let mut token = String::new();
    let mut item_id = String::new();
    for (method, path, body) in &examples {
        if path.contains("{id}") && item_id.is_empty() {
            let created = app
                .post("/api/data")
                .bearer(&token)
                .json(&serde_json::json!({"name": "x"}))
                .send()
                .await;
            item_id = created.json["id"].as_str().expect("id").to_owned();
        }
        let url = path.replace("{id}", &item_id);
        let method = axum::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut request = app.request(method.clone(), &url).json(body);
        if !token.is_empty() {
            request = request.bearer(&token);
        }
        let response = request.send().await;
        assert!(
            response.status.is_success(),
            "{method} {path} with {body}: {} {}",
            response.status,
            response.text
        );
        if let Some(access) = response.json["accessToken"].as_str() {
            token = access.to_owned();
        }
    }
}
