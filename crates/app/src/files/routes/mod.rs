//! HTTP handlers of the Files API. Downloads (`content.rs`) stream; so does the upload.

pub mod content;

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::FileId;

use super::dto::{FileDto, FileUrlDto, ListFilesQuery, UploadForm};
use super::{service, upload};
use crate::auth::AuthUser;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedQuery};
use crate::http::idempotency::{self, IdempotencyKey};
use crate::http::public_base::PublicBase;
use crate::platform::idempotency::request_hash;
use crate::platform::pagination::Page;
use crate::state::AppState;

/// Upload a file
///
/// `multipart/form-data` with exactly one part named `file`, read as a stream (any size up to
/// `MAX_UPLOAD_BYTES`, default 10 MiB, without the server holding it in memory) under its own
/// timeout (`UPLOAD_TIMEOUT_SECS`). The type is sniffed from the bytes; the part's
/// `Content-Type` and the filename's extension are ignored. Nothing is kept of a refused
/// upload. With `Idempotency-Key`, a retry carrying the same file (name, size, SHA-256) is
/// answered with the first upload's response; the body is read before the key is checked, so
/// `409` only answers a retry that arrives while the first is being committed.
#[utoipa::path(post, path = "/api/files", tag = "files", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "1..255 characters; executed once per user and key for 24 h")),
    responses(
        (status = 201, description = "Stored; `Location` set. `status` is `processing` until the background job has checked it (and made an image's thumbnail)", body = FileDto,
            headers(("Location" = String))),
        (status = 400, description = "No `file` part, several, another part, or a malformed body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`QUOTA_EXCEEDED`: over `MAX_STORAGE_BYTES_PER_USER`", body = ErrorBody),
        (status = 409, description = "`IDEMPOTENCY_IN_PROGRESS`", body = ErrorBody),
        (status = 413, description = "Over `MAX_UPLOAD_BYTES`", body = ErrorBody),
        (status = 415, description = "Not `multipart/form-data`, or a sniffed type outside `UPLOAD_ALLOWED_TYPES`", body = ErrorBody),
        (status = 422, description = "`IDEMPOTENCY_KEY_MISMATCH`", body = ErrorBody),
        (status = 504, description = "`TIMEOUT`: the upload took longer than `UPLOAD_TIMEOUT_SECS`", body = ErrorBody),
    ))]
pub async fn upload_file(
    State(app): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let incoming = upload::Incoming {
        content_type: header(header::CONTENT_TYPE).map(str::to_owned),
        content_length: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body: body.into_data_stream(),
    };
    let received = upload::receive(&app, user.user_id, incoming).await?;
    let hash = request_hash(&app, "POST", "/api/files", &received.fingerprint());
    let committed = AtomicBool::new(false);
    let (app, scope) = (&app, user.user_id.to_string());
    let (pending, done) = (&received, &committed);
    let answer = idempotency::run_once(app, &scope, key, hash, false, |claim| async move {
        let file = upload::commit(app, pending, claim.as_ref()).await?;
        done.store(true, Ordering::Relaxed);
        let location = format!("/api/files/{}", file.id);
        let mut response = (StatusCode::CREATED, Json(file)).into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    })
    .await;
    if !committed.load(Ordering::Relaxed) {
        upload::discard(app, received).await;
    }
    answer
}

#[utoipa::path(summary = "List your files", description = "A page of your files, newest first.",
    get, path = "/api/files", tag = "files", security(("bearer" = [])),
    params(ListFilesQuery),
    responses((status = 200, description = "Your files, newest first", body = Page<FileDto>),
        (status = 400, description = "`VALIDATION_FAILED`: a parameter out of range, both `offset` and `cursor`, or a `cursor` this server did not issue for this listing (`details` names `cursor`)", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_files(
    State(app): State<AppState>,
    user: AuthUser,
    PublicBase(base): PublicBase,
    ValidatedQuery(query): ValidatedQuery<ListFilesQuery>,
) -> ApiResult<Json<Page<FileDto>>> {
    Ok(Json(service::list(&app, user.user_id, query, &base).await?))
}

#[utoipa::path(summary = "Get a file's metadata", description = "One of your files: name, sniffed type, size, checksum and processing status.",
    get, path = "/api/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = FileDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such file, or not yours", body = ErrorBody)))]
pub async fn get_file(
    State(app): State<AppState>,
    user: AuthUser,
    PublicBase(base): PublicBase,
    ValidPath(id): ValidPath<FileId>,
) -> ApiResult<Json<FileDto>> {
    Ok(Json(service::get(&app, user.user_id, id, &base).await?))
}

/// A link to the file that needs no token
///
/// Valid for `FILE_URL_TTL` (default 15 minutes): a link to this server on local storage
/// (`403` once expired or if altered, `404` once the file is deleted), an S3 presigned URL on
/// S3. It downloads like `GET /api/files/{id}/content`.
#[utoipa::path(post, path = "/api/files/{id}/url", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = FileUrlDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_file_url(
    State(app): State<AppState>,
    user: AuthUser,
    PublicBase(base): PublicBase,
    ValidPath(id): ValidPath<FileId>,
) -> ApiResult<Json<FileUrlDto>> {
    Ok(Json(
        service::signed_url(&app, user.user_id, id, &base).await?,
    ))
}

/// Delete a file
///
/// The file is gone at once (a `GET` afterwards is `404`) and its bytes count against the
/// quota no more; a background job removes the stored bytes.
#[utoipa::path(delete, path = "/api/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_file(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<FileId>,
) -> ApiResult<StatusCode> {
    service::delete(&app, user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
