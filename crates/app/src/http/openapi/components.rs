//! The shared pieces of the contract: `components.headers`, `components.responses` and
//! `components.parameters` that the pass in `contract` refers to. A new shared header or
//! standard error goes in these tables.

use serde_json::{Map, Value, json};

/// Shared response headers: (component name, header name, description, schema).
pub const HEADERS: &[(&str, &str, &str, &str)] = &[
    (
        "X-Request-Id",
        "x-request-id",
        "The request's id (echoed when the client sent a sane one, else generated); quote it when reporting a problem.",
        r#"{"type":"string","maxLength":128}"#,
    ),
    (
        "ETag",
        "etag",
        "The entity tag of the representation, for `If-Match` and `If-None-Match`.",
        r#"{"type":"string","example":"\"3\""}"#,
    ),
    (
        "Location",
        "location",
        "The URL of the created resource.",
        r#"{"type":"string","format":"uri-reference"}"#,
    ),
    (
        "Idempotent-Replayed",
        "idempotent-replayed",
        "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
        r#"{"type":"string","enum":["true"]}"#,
    ),
    (
        "RateLimit-Limit",
        "ratelimit-limit",
        "Requests allowed per window in the tightest budget that applies.",
        r#"{"type":"integer","minimum":0}"#,
    ),
    (
        "RateLimit-Remaining",
        "ratelimit-remaining",
        "Requests left in that window.",
        r#"{"type":"integer","minimum":0}"#,
    ),
    (
        "RateLimit-Reset",
        "ratelimit-reset",
        "Seconds until the window resets.",
        r#"{"type":"integer","minimum":0}"#,
    ),
    (
        "Retry-After",
        "retry-after",
        "Seconds to wait before trying again.",
        r#"{"type":"integer","minimum":0}"#,
    ),
    (
        "WWW-Authenticate",
        "www-authenticate",
        "`Bearer`, with the reason when a token was sent.",
        r#"{"type":"string","example":"Bearer"}"#,
    ),
    (
        "Content-Disposition",
        "content-disposition",
        "`attachment`, with the file's name.",
        r#"{"type":"string"}"#,
    ),
    (
        "Cache-Control",
        "cache-control",
        "`no-store` on responses that carry tokens or personal data.",
        r#"{"type":"string"}"#,
    ),
    (
        "Accept-Ranges",
        "accept-ranges",
        "`bytes`: `Range` requests are served.",
        r#"{"type":"string","enum":["bytes"]}"#,
    ),
    (
        "Content-Range",
        "content-range",
        "The byte range sent, of the whole size.",
        r#"{"type":"string"}"#,
    ),
];

/// The standard error responses: (component name, status, description, extra headers).
pub const RESPONSES: &[(&str, &str, &str, &[&str])] = &[
    (
        "BadRequest",
        "400",
        "`VALIDATION_FAILED`: the body, query, path or a header fails its schema (malformed JSON or UUID included); `details` names the fields.",
        &[],
    ),
    (
        "Unauthorized",
        "401",
        "`UNAUTHORIZED`: no, bad, expired or revoked access token.",
        &["WWW-Authenticate"],
    ),
    (
        "NotFound",
        "404",
        "`NOT_FOUND`: no such resource, or it is not yours.",
        &[],
    ),
    (
        "IdempotencyInProgress",
        "409",
        "`IDEMPOTENCY_IN_PROGRESS`: a request with this `Idempotency-Key` is still running.",
        &["Retry-After"],
    ),
    (
        "PayloadTooLarge",
        "413",
        "`PAYLOAD_TOO_LARGE`: the body is over its limit (`MAX_BODY_BYTES`, default 1 MiB, for JSON).",
        &[],
    ),
    (
        "UnsupportedMediaType",
        "415",
        "`UNSUPPORTED_MEDIA_TYPE`: the body is not of the content type the operation takes.",
        &[],
    ),
    (
        "UriTooLong",
        "414",
        "`URI_TOO_LONG`: the request target is over 8 KiB.",
        &[],
    ),
    (
        "HeadersTooLarge",
        "431",
        "`HEADERS_TOO_LARGE`: more than 100 header fields, or more than 16 KiB of them.",
        &[],
    ),
    (
        "IdempotencyKeyMismatch",
        "422",
        "`IDEMPOTENCY_KEY_MISMATCH`: this `Idempotency-Key` was used with a different body.",
        &[],
    ),
    (
        "UpgradeRequired",
        "426",
        "`UPGRADE_REQUIRED`: `X-App-Version` is below `MIN_APP_VERSION`.",
        &[],
    ),
    (
        "TooManyRequests",
        "429",
        "`RATE_LIMITED`: a rate limit is exhausted; retry after `Retry-After` seconds.",
        &["Retry-After"],
    ),
    (
        "InternalError",
        "500",
        "`INTERNAL`: something unexpected; the body holds nothing internal.",
        &[],
    ),
    (
        "ServiceUnavailable",
        "503",
        "`SERVICE_UNAVAILABLE`: the database (or another needed service) is unreachable.",
        &["Retry-After"],
    ),
];

pub const RATE_LIMIT_HEADERS: &[&str] =
    &["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

pub fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// `value[key]` as an object, made one when it is missing or is something else.
pub fn object<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !value[key].is_object() {
        value[key] = json!({});
    }
    match &mut value[key] {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

pub fn add_components(doc: &mut Value) {
    let components = object(doc, "components");
    let headers = components.entry("headers").or_insert_with(|| json!({}));
    for (name, _, description, schema) in HEADERS {
        let schema: Value = serde_json::from_str(schema).unwrap_or_else(|_| json!({}));
        headers[*name] = json!({ "description": description, "schema": schema });
    }
    let responses = components.entry("responses").or_insert_with(|| json!({}));
    for (name, status, description, extra) in RESPONSES {
        let mut headers = Map::new();
        headers.insert("X-Request-Id".into(), header_ref("X-Request-Id"));
        for h in *extra {
            headers.insert((*h).into(), header_ref(h));
        }
        // 426 and 429 are only ever answered under /api, where the budgets are counted.
        if !matches!(*status, "500") {
            for h in RATE_LIMIT_HEADERS {
                headers.insert((*h).into(), header_ref(h));
            }
        }
        responses[*name] = json!({
            "description": description,
            "headers": headers,
            "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
        });
    }
    let parameters = components.entry("parameters").or_insert_with(|| json!({}));
    parameters["IdempotencyKey"] = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "1..255 visible ASCII characters (inner spaces allowed). The request is \
            executed once per client and key for 24 h: a retry with the same key and body gets \
            the stored status and body again, with `Idempotent-Replayed: true`; the same key with \
            another body is a `422`, and while the first request still runs a `409`.",
        "schema": { "type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[!-~]([ -~]*[!-~])?$" },
    });
}
