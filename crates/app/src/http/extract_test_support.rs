//! For the request types' property tests (`items/input_props.rs`, `auth/dto_props.rs`): one
//! request through a router, and the check that a refusal is in the contract's error format.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

/// POSTs `body` to `path` and returns the status and the body as JSON (`Null` if it is not).
pub fn post(router: &Router, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap_or_else(|err| panic!("request: {err}"));
    futures::executor::block_on(async {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

/// A refusal: a 4xx whose body is `{error, code, details?, requestId}`, with `details` a
/// non-empty list of `{path, message}` for `400 VALIDATION_FAILED`. Returns the details as
/// `(path, message)` pairs, or why the answer is not such a refusal.
pub fn refusal(status: StatusCode, body: &Value) -> Result<Vec<(String, String)>, String> {
    if !status.is_client_error() {
        return Err(format!("{status} is not a 4xx: {body}"));
    }
    let object = body.as_object().ok_or(format!("not an object: {body}"))?;
    for key in object.keys() {
        if !["error", "code", "details", "requestId"].contains(&key.as_str()) {
            return Err(format!("unexpected member {key:?}: {body}"));
        }
    }
    let (Some(_), Some(code), Some(_)) = (
        body["error"].as_str(),
        body["code"].as_str(),
        body["requestId"].as_str(),
    ) else {
        return Err(format!("error, code or requestId missing: {body}"));
    };
    let details = match body.get("details") {
        None => Vec::new(),
        Some(details) => details
            .as_array()
            .ok_or(format!("details is not a list: {body}"))?
            .iter()
            .map(|d| match (d["path"].as_str(), d["message"].as_str()) {
                (Some(path), Some(message)) => Ok((path.to_owned(), message.to_owned())),
                _ => Err(format!("a detail without path and message: {body}")),
            })
            .collect::<Result<_, _>>()?,
    };
    if status == StatusCode::BAD_REQUEST && (code != "VALIDATION_FAILED" || details.is_empty()) {
        return Err(format!(
            "a 400 without VALIDATION_FAILED and details: {body}"
        ));
    }
    Ok(details)
}
