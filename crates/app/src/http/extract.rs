//! Extractors that reject bad input before any handler code runs, in the contract's format.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::platform::error::{ErrorCode, FieldError};
use crate::platform::serde_ext::ObjectsOnly;

/// A JSON body that is strict (unknown fields rejected by the type's `deny_unknown_fields`),
/// type-checked with field paths, and then validated with `garde`.
#[derive(Debug, Clone)]
pub struct ValidatedJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidatedJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json_content_type(req.headers())?;
        let bytes = read_body(req, state).await?;
        let value: T = parse_json(&bytes)?;
        validate(&value)?;
        Ok(Self(value))
    }
}

/// Like [`ValidatedJson`] for endpoints whose body is optional: an empty body yields `None`.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !has_type {
            return Err(unsupported_media_type());
        }
        let value: T = parse_json(&bytes)?;
        validate(&value)?;
        Ok(Self(Some(value)))
    }
}

/// Query parameters, strictly typed and validated like bodies.
#[derive(Debug, Clone)]
pub struct ValidatedQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidatedQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: T = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = display_path(err.path());
            ApiError::field(path, err.into_inner().to_string())
        })?;
        validate(&value)?;
        Ok(Self(value))
    }
}

/// Path parameters; a malformed id is a `400 VALIDATION_FAILED` naming the parameter.
#[derive(Debug, Clone)]
pub struct ValidPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                use axum::extract::path::ErrorKind;
                let (path, message) = match err.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => (
                        key.clone(),
                        format!("must be a valid {}", friendly_type(expected_type)),
                    ),
                    ErrorKind::DeserializeError { key, .. } => {
                        (key.clone(), "has an invalid format".to_owned())
                    }
                    ErrorKind::ParseError { expected_type, .. } => (
                        "id".to_owned(),
                        format!("must be a valid {}", friendly_type(expected_type)),
                    ),
                    other => ("".to_owned(), other.to_string()),
                };
                Err(ApiError::field(path, message))
            }
            Err(other) => Err(ApiError::internal(anyhow::anyhow!(
                "path extraction: {other}"
            ))),
        }
    }
}

fn friendly_type(rust_type: &str) -> &str {
    if rust_type.ends_with("Uuid") || rust_type.ends_with("Id") {
        "UUID"
    } else {
        rust_type.rsplit("::").next().unwrap_or(rust_type)
    }
}

pub fn unsupported_media_type() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "Expected Content-Type: application/json",
    )
}

/// `application/json`, with or without parameters, or any `application/*+json`.
pub fn require_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(unsupported_media_type())
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "Request body too large")
            } else {
                ApiError::field("", "The request body could not be read")
            }
        })
}

/// Deserialises JSON with field paths on type errors; syntax errors are "malformed JSON".
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |err: serde_json::Error| {
        ApiError::field("", err.to_string()).with_message("Malformed JSON")
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    // Request bodies are objects: a struct is not read from a JSON array of its field values.
    let value =
        serde_path_to_error::deserialize(ObjectsOnly(&mut deserializer)).map_err(|err| {
            let path = display_path(err.path());
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => data_error(path, &inner),
                _ => malformed(inner),
            }
        })?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// A type error, named by the field it is about: a missing field is reported at its own path
/// (`device.name`), not at its parent's, and without serde's line and column.
fn data_error(path: String, err: &serde_json::Error) -> ApiError {
    let message = err.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(before, _)| before);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let path = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::field(path, "is required");
    }
    ApiError::field(path, message)
}

fn display_path(path: &serde_path_to_error::Path) -> String {
    let rendered = path.to_string();
    if rendered == "." {
        String::new()
    } else {
        rendered
    }
}

pub fn validate<T: garde::Validate<Context = ()>>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(|report| {
        let details = report
            .iter()
            .map(|(path, error)| {
                FieldError::new(camel_case(&path.to_string()), error.message().to_string())
            })
            .collect();
        ApiError::validation(details)
    })
}

/// `garde` names fields as they are in Rust (`device.app_version`); the wire, and so the error
/// details, use camelCase (`device.appVersion`), like every request type's `rename_all`.
fn camel_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper_next = false;
    for c in path.chars() {
        if c == '_' && !out.is_empty() && !out.ends_with(['.', '[']) {
            upper_next = true;
            continue;
        }
        if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[path = "extract_test_support.rs"]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn garde_paths_are_reported_in_camel_case() {
        assert_eq!(camel_case("device.app_version"), "device.appVersion");
        assert_eq!(camel_case("new_password"), "newPassword");
        assert_eq!(
            camel_case("operations[3].if_match"),
            "operations[3].ifMatch"
        );
        assert_eq!(camel_case("email"), "email");
        assert_eq!(camel_case(""), "");
    }
}
