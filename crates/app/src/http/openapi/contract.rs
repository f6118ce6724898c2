//! The pass that turns what the handlers' `#[utoipa::path]` annotations say into the exact
//! contract, so that every route gets the statuses and headers that the shared layers add
//! without repeating them (see `docs/openapi.md`):
//! - operation ids in camelCase (handlers are `snake_case`), an explicit `security` (empty on
//!   public routes), and a description on every response;
//! - the statuses the middleware and extractors answer with, as `$ref`s to
//!   `components.responses`: 400/413/415 on JSON bodies, 401 on bearer routes, 400/404 on
//!   `{id}` paths, 409/422 with `Idempotency-Key`, 426/429/503 on `/api`, 500 everywhere;
//! - response headers as `$ref`s to `components.headers`: `X-Request-Id` on every response,
//!   `RateLimit-*` under `/api`, `Idempotent-Replayed` on replayable successes, and any header a
//!   route names (`headers(("ETag" = String))`) swapped for its shared component.

use serde_json::{Map, Value, json};

use super::components::{
    HEADERS, RATE_LIMIT_HEADERS, RESPONSES, add_components, header_ref, object,
};

fn camel_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut upper = false;
    for c in id.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn reason(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "206" => "Partial content: the requested byte range",
        "304" => "Not modified: the `ETag` you have is current",
        "400" => "`VALIDATION_FAILED`: the request fails its schema",
        "401" => "Unauthorized",
        "403" => "`FORBIDDEN`: not allowed",
        "404" => "`NOT_FOUND`",
        "409" => "Conflict",
        "410" => "Gone",
        "412" => "`PRECONDITION_FAILED`: `If-Match` does not match the current `ETag`",
        "413" => "`PAYLOAD_TOO_LARGE`",
        "415" => "`UNSUPPORTED_MEDIA_TYPE`",
        "416" => "`RANGE_NOT_SATISFIABLE`",
        "429" => "Too many requests",
        "503" => "Service unavailable",
        _ => "See the error code",
    }
}

/// What the pass needs to know about one operation.
struct Facts {
    json_body: bool,
    secured: bool,
    under_api: bool,
    has_id: bool,
    has_query: bool,
    idempotent: bool,
}

fn facts(path: &str, op: &Value) -> Facts {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let named = |p: &Value, where_: &str| p["in"] == where_;
    Facts {
        json_body: op["requestBody"]["content"]
            .as_object()
            .is_some_and(|c| c.contains_key("application/json")),
        secured: op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
        }),
        under_api: path.starts_with("/api/"),
        has_id: path.contains('{'),
        has_query: params.iter().any(|p| named(p, "query")),
        idempotent: params.iter().any(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Idempotency-Key"))
        }),
    }
}

fn add_response(responses: &mut Map<String, Value>, status: &str, component: &str) {
    responses
        .entry(status.to_owned())
        .or_insert_with(|| json!({ "$ref": format!("#/components/responses/{component}") }));
}

fn finish_operation(path: &str, op: &mut Value) {
    if let Some(id) = op["operationId"].as_str() {
        op["operationId"] = json!(camel_case(id));
    }
    if op.get("security").is_none() {
        op["security"] = json!([]);
    }
    let f = facts(path, op);
    if f.idempotent {
        for p in op["parameters"].as_array_mut().into_iter().flatten() {
            if p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Idempotency-Key"))
            {
                *p = json!({ "$ref": "#/components/parameters/IdempotencyKey" });
            }
        }
    }
    let responses = object(op, "responses");
    if f.json_body || f.has_id || f.has_query || f.idempotent {
        add_response(responses, "400", "BadRequest");
    }
    if f.json_body {
        add_response(responses, "413", "PayloadTooLarge");
        add_response(responses, "415", "UnsupportedMediaType");
    }
    if f.secured {
        add_response(responses, "401", "Unauthorized");
    }
    if f.has_id && f.secured {
        add_response(responses, "404", "NotFound");
    }
    if f.idempotent {
        add_response(responses, "409", "IdempotencyInProgress");
        add_response(responses, "422", "IdempotencyKeyMismatch");
    }
    if f.under_api {
        add_response(responses, "426", "UpgradeRequired");
        add_response(responses, "429", "TooManyRequests");
        add_response(responses, "503", "ServiceUnavailable");
    }
    // The head limits apply to every route, before anything else runs.
    add_response(responses, "414", "UriTooLong");
    add_response(responses, "431", "HeadersTooLarge");
    add_response(responses, "500", "InternalError");
    for (status, response) in responses.iter_mut() {
        if response.get("$ref").is_some() {
            continue;
        }
        // An error a route names without saying more is the standard one.
        let undescribed = response["description"].as_str().is_none_or(str::is_empty);
        if let Some((name, ..)) = RESPONSES.iter().find(|(_, s, ..)| s == status)
            && undescribed
        {
            *response = json!({ "$ref": format!("#/components/responses/{name}") });
            continue;
        }
        finish_response(status, response, &f);
    }
}

/// Drops the shared components no operation refers to.
fn prune(doc: &mut Value) {
    let text = doc.to_string();
    for kind in ["responses", "headers", "parameters"] {
        if let Some(map) = doc["components"][kind].as_object_mut() {
            map.retain(|name, _| text.contains(&format!("\"#/components/{kind}/{name}\"")));
        }
    }
}

fn finish_response(status: &str, response: &mut Value, f: &Facts) {
    if response["description"].as_str().is_none_or(str::is_empty) {
        response["description"] = json!(reason(status));
    }
    let headers = object(response, "headers");
    // A header the route names is swapped for the shared component of that name.
    for (name, wire, _, _) in HEADERS {
        let named: Vec<String> = headers
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(wire))
            .cloned()
            .collect();
        for key in named {
            headers.remove(&key);
            headers.insert((*name).into(), header_ref(name));
        }
    }
    headers.insert("X-Request-Id".into(), header_ref("X-Request-Id"));
    if f.under_api {
        for h in RATE_LIMIT_HEADERS {
            headers.insert((*h).into(), header_ref(h));
        }
    }
    match status {
        "401" => {
            headers.insert("WWW-Authenticate".into(), header_ref("WWW-Authenticate"));
        }
        "429" | "503" => {
            headers.insert("Retry-After".into(), header_ref("Retry-After"));
        }
        s if f.idempotent && s.starts_with('2') => {
            headers.insert(
                "Idempotent-Replayed".into(),
                header_ref("Idempotent-Replayed"),
            );
        }
        _ => {}
    }
}

/// OpenAPI links from a creating operation's success to the operations on what it created, so
/// that clients (and schemathesis's stateful phase) can chain create, read, update and delete:
/// (operation id, status, link name, target operation id).
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("createItem", "201", "GetItem", "getItem"),
    ("createItem", "201", "ReplaceItem", "replaceItem"),
    ("createItem", "201", "DeleteItem", "deleteItem"),
    ("replaceItem", "200", "GetItem", "getItem"),
    ("replaceItem", "200", "DeleteItem", "deleteItem"),
    ("uploadFile", "201", "GetFile", "getFile"),
    ("uploadFile", "201", "DownloadFile", "downloadFile"),
    ("uploadFile", "201", "CreateFileUrl", "createFileUrl"),
    ("uploadFile", "201", "DeleteFile", "deleteFile"),
];

fn add_links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
            continue;
        };
        for (_, status, name, target) in LINKS.iter().filter(|(from, ..)| *from == id) {
            let response = &mut op["responses"][*status];
            if response.get("$ref").is_some() || !response.is_object() {
                continue;
            }
            object(response, "links").insert(
                (*name).to_owned(),
                json!({ "operationId": target, "parameters": { "id": "$response.body#/id" } }),
            );
        }
    }
}

/// Applies the pass to a generated document.
pub fn finish(document: utoipa::openapi::OpenApi) -> Value {
    let doc = serde_json::to_value(&document).unwrap_or_else(|_| json!({}));
    let mut doc = super::schemas::finish(doc);
    add_components(&mut doc);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if matches!(
                    method.as_str(),
                    "get" | "put" | "post" | "delete" | "patch" | "head"
                ) {
                    finish_operation(path, op);
                }
            }
        }
    }
    add_links(&mut doc);
    prune(&mut doc);
    doc["servers"] = json!([{ "url": "/", "description": "This server" }]);
    doc
}

/// The document as served: `servers` names where the client reached it.
pub fn with_server(mut doc: Value, base: &str) -> Value {
    doc["servers"] = json!([{ "url": base, "description": "This server" }]);
    doc
}
