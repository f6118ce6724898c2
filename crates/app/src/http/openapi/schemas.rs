//! Schema-level finishing of the document, for what utoipa's derives cannot say:
//! - client-friendly names (`Item`, not `ItemDto`; `ItemPage`, not `Page_ItemDto`): generated
//!   clients name their classes after these;
//! - one definition per type: a component inlined elsewhere (utoipa inlines the `T` of
//!   `Page<T>`) becomes a `$ref`, so Kotlin and Dart get one `Item` class, not two;
//! - free-form objects (`data`, a job's `payload`) say `additionalProperties: true`, so that
//!   `data: {milk: 2}` type-checks in a generated client;
//! - discriminated unions where the shape depends on `op`: a batch operation and a change.
//!   The Rust types stay flat structs (the server checks the combinations and names the field
//!   at fault); these schemas describe the same rules.

use serde_json::{Value, json};

/// (generated name, published name). Not `File`: openapi-generator's Kotlin maps that name to
/// `java.io.File`.
const RENAMES: &[(&str, &str)] = &[
    ("ItemDto", "Item"),
    ("UserDto", "User"),
    ("SessionDto", "Session"),
    ("FileDto", "FileInfo"),
    ("FileUrlDto", "FileUrl"),
    ("JobDto", "Job"),
    ("JobDetailDto", "JobDetail"),
    ("JobStateDto", "JobState"),
    ("DeviceDto", "Device"),
    ("NotificationDto", "Notification"),
    ("Page_ItemDto", "ItemPage"),
    ("Page_FileDto", "FileInfoPage"),
    ("Page_UserDto", "UserPage"),
    ("Page_JobDto", "JobPage"),
];

fn rename(doc: Value) -> Value {
    let mut text = doc.to_string();
    for (old, new) in RENAMES {
        text = text.replace(
            &format!("\"#/components/schemas/{old}\""),
            &format!("\"#/components/schemas/{new}\""),
        );
    }
    let mut doc: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for (old, new) in RENAMES {
            if let Some(schema) = schemas.remove(*old) {
                schemas.insert((*new).to_owned(), schema);
            }
        }
    }
    doc
}

/// Replaces every inline copy of a component schema (outside `components`) by its `$ref`.
fn dedupe(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object().cloned() else {
        return;
    };
    let named: Vec<(String, Value)> = schemas
        .into_iter()
        .filter(|(_, s)| s.get("properties").is_some() || s.get("allOf").is_some())
        .collect();
    fn walk(value: &mut Value, named: &[(String, Value)], top: bool) {
        if !top && let Some((name, _)) = named.iter().find(|(_, s)| s == value) {
            *value = json!({ "$ref": format!("#/components/schemas/{name}") });
            return;
        }
        match value {
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, named, false)),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, named, false)),
            _ => {}
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for schema in schemas.values_mut() {
            walk(schema, &named, true);
        }
    }
    walk(&mut doc["paths"], &named, true);
}

/// An object schema with nothing said about its members is free-form.
fn free_form(value: &mut Value) {
    if let Value::Object(map) = value {
        let is_object = match map.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            _ => false,
        };
        let said = [
            "properties",
            "additionalProperties",
            "allOf",
            "oneOf",
            "anyOf",
            "$ref",
        ]
        .iter()
        .any(|k| map.contains_key(*k));
        if is_object && !said {
            map.insert("additionalProperties".into(), json!(true));
        }
        map.values_mut().for_each(free_form);
    } else if let Value::Array(items) = value {
        items.iter_mut().for_each(free_form);
    }
}

fn unions(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    let if_match = json!({ "type": "string", "maxLength": 64,
        "description": "The ETag the item must still have (as from the `ETag` header, e.g. `\"3\"`)." });
    let body = json!({ "$ref": "#/components/schemas/ItemInput" });
    let id = json!({ "type": "string", "format": "uuid" });
    let op = |name: &str| json!({ "type": "string", "enum": [name] });
    schemas["BatchCreate"] = json!({
        "type": "object", "additionalProperties": false, "required": ["op", "body"],
        "description": "Creates an item; its id is assigned by the server.",
        "properties": { "op": op("create"), "body": body, "ifMatch": if_match },
    });
    schemas["BatchUpdate"] = json!({
        "type": "object", "additionalProperties": false, "required": ["op", "id", "body"],
        "description": "Replaces an item, as `PUT /api/data/{id}`.",
        "properties": { "op": op("update"), "id": id, "body": body, "ifMatch": if_match },
    });
    schemas["BatchDelete"] = json!({
        "type": "object", "additionalProperties": false, "required": ["op", "id"],
        "description": "Deletes an item, as `DELETE /api/data/{id}`.",
        "properties": { "op": op("delete"), "id": id, "ifMatch": if_match },
    });
    schemas["BatchOperation"] = json!({
        "description": "One operation of a batch: its shape depends on `op`.",
        "oneOf": [
            { "$ref": "#/components/schemas/BatchCreate" },
            { "$ref": "#/components/schemas/BatchUpdate" },
            { "$ref": "#/components/schemas/BatchDelete" },
        ],
        "discriminator": { "propertyName": "op", "mapping": {
            "create": "#/components/schemas/BatchCreate",
            "update": "#/components/schemas/BatchUpdate",
            "delete": "#/components/schemas/BatchDelete",
        } },
    });
    let at = json!({ "type": "string", "format": "date-time", "description": "When the change was made." });
    schemas["ChangeUpsert"] = json!({
        "type": "object", "required": ["id", "op", "item", "at"],
        "description": "The item was created or updated: here it is as it is now.",
        "properties": { "id": id, "op": op("upsert"),
            "item": { "$ref": "#/components/schemas/Item" }, "at": at },
    });
    schemas["ChangeDelete"] = json!({
        "type": "object", "required": ["id", "op", "at"],
        "description": "The item was deleted.",
        "properties": { "id": id, "op": op("delete"), "at": at },
    });
    schemas["Change"] = json!({
        "description": "One change of a delta sync: its shape depends on `op`.",
        "oneOf": [
            { "$ref": "#/components/schemas/ChangeUpsert" },
            { "$ref": "#/components/schemas/ChangeDelete" },
        ],
        "discriminator": { "propertyName": "op", "mapping": {
            "upsert": "#/components/schemas/ChangeUpsert",
            "delete": "#/components/schemas/ChangeDelete",
        } },
    });
    // Changing the email needs the current password (else `400`).
    if let Some(update) = schemas["UpdateMeRequest"].as_object_mut() {
        update.insert(
            "dependentRequired".into(),
            json!({ "email": ["currentPassword"] }),
        );
        update.insert("if".into(), json!({ "required": ["email"] }));
        update.insert(
            "then".into(),
            json!({ "properties": { "currentPassword": { "type": "string", "minLength": 1 } } }),
        );
    }
    if let Some(map) = schemas.as_object_mut() {
        map.remove("BatchOp");
        map.remove("ChangeOp");
    }
}

/// `RegisterDevice` as a union on `platform`: each platform's token has its own form (the Rust
/// type keeps one `token`; `devices::service::parse_token` checks it for the platform).
fn device_union(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    let Some(example) = schemas["RegisterDevice"].get("example").cloned() else {
        return;
    };
    let platform = |name: &str| json!({ "type": "string", "enum": [name] });
    let b64 = |pattern: &str, description: &str| json!({ "type": "string", "pattern": pattern, "description": description });
    schemas["PushSubscription"] = json!({
        "type": "object", "additionalProperties": false, "required": ["endpoint", "keys"],
        "description": "A browser's `PushSubscription`, as `subscription.toJSON()` gives it.",
        "properties": {
            "endpoint": { "type": "string", "maxLength": 2048,
                "pattern": r"^https://[^/?#@\s]+([/?][^#]*)?$",
                "description": "The push service's `https` URL; a host name, not an IP \
                    address; no credentials or fragment." },
            "expirationTime": { "type": ["number", "null"] },
            "keys": { "type": "object", "additionalProperties": false,
                "required": ["p256dh", "auth"], "properties": {
                    "p256dh": b64(r"^\s*B[A-Za-z0-9_-]{85}[AEIMQUYcgkosw048]=*\s*$",
                        "The browser's uncompressed P-256 public key (65 bytes, base64url); \
                         a point that is not on the curve is refused (`400`)."),
                    "auth": b64(r"^\s*[A-Za-z0-9_-]{21}[AQgw]=*\s*$",
                        "The 16-byte authentication secret (base64url)."),
                } },
        },
    });
    let branch = |name: &str, token: Value, description: &str| {
        json!({ "type": "object", "additionalProperties": false,
            "required": ["platform", "token"], "description": description,
            "properties": { "platform": platform(name), "token": token } })
    };
    schemas["RegisterIosDevice"] = branch(
        "ios",
        json!({ "type": "string", "pattern": r"^\s*([0-9A-Fa-f]{2}){32,100}\s*$",
            "description": "The APNs device token in hex (64 to 200 digits, even)." }),
        "An iOS device: delivered through APNs.",
    );
    schemas["RegisterAndroidDevice"] = branch(
        "android",
        json!({ "type": "string", "pattern": r"^\s*[!-~]{1,4096}\s*$",
            "description": "The FCM registration token (1 to 4096 visible ASCII characters)." }),
        "An Android device: delivered through FCM.",
    );
    schemas["RegisterWebDevice"] = branch(
        "web",
        json!({ "oneOf": [
            { "$ref": "#/components/schemas/PushSubscription" },
            { "type": "string", "minLength": 2, "maxLength": 8192,
                "description": "The same subscription as JSON text (`JSON.stringify(subscription)`)." },
        ] }),
        "A browser: delivered through Web Push to its subscription's endpoint.",
    );
    let refs = |name: &str| format!("#/components/schemas/{name}");
    schemas["RegisterDevice"] = json!({
        "description": "`POST /api/devices`: the token's form depends on `platform`.",
        "example": example,
        "oneOf": [
            { "$ref": refs("RegisterIosDevice") },
            { "$ref": refs("RegisterAndroidDevice") },
            { "$ref": refs("RegisterWebDevice") },
        ],
        "discriminator": { "propertyName": "platform", "mapping": {
            "ios": refs("RegisterIosDevice"),
            "android": refs("RegisterAndroidDevice"),
            "web": refs("RegisterWebDevice"),
        } },
    });
    if let Some(map) = schemas.as_object_mut() {
        map.remove("TokenInput");
    }
}

/// Applies the schema-level finishing (before the operation pass).
pub fn finish(doc: Value) -> Value {
    let mut doc = rename(doc);
    unions(&mut doc);
    device_union(&mut doc);
    dedupe(&mut doc);
    free_form(&mut doc["components"]["schemas"]);
    free_form(&mut doc["paths"]);
    doc
}
