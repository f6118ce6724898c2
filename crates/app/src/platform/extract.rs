//! Extractors that reject bad input before any handler code runs, in the contract's format.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode, FieldError};

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
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = display_path(err.path());
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::field(path, inner.to_string()),
            _ => malformed(inner),
        }
    })?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
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
            .map(|(path, error)| FieldError::new(path.to_string(), error.message().to_string()))
            .collect();
        ApiError::validation(details)
    })
}
