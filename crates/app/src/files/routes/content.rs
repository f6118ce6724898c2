//! Downloads: a file's bytes streamed from storage, with single ranges, conditional requests
//! and the headers that keep a browser from rendering what it downloads.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::FileId;

use super::super::error::FileError;
use super::super::filename::content_disposition;
use super::super::range::{self, Ranged};
use super::super::service::{self, Content};
use crate::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ValidPath;
use crate::state::AppState;

/// Whether `header` (`If-None-Match`: `*` or a list of tags, weak ones included) names `etag`.
fn names_etag(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|value| {
        value.trim() == "*"
            || value
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag)
    })
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The headers every answer about `content` carries, `304` included.
fn describe(headers: &mut HeaderMap, content: &Content) {
    set(headers, header::ETAG, &content.etag);
    set(headers, header::CACHE_CONTROL, "private");
    set(headers, header::ACCEPT_RANGES, "bytes");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
}

async fn respond(app: &AppState, content: Content, request: &HeaderMap) -> ApiResult<Response> {
    let header = |name| {
        request
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if names_etag(header(header::IF_NONE_MATCH), &content.etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        describe(response.headers_mut(), &content);
        return Ok(response);
    }
    // A range of a version the client no longer has would splice two versions: send it all.
    let if_range_holds = header(header::IF_RANGE).is_none_or(|tag| tag.trim() == content.etag);
    let ranged = if if_range_holds {
        range::resolve(header(header::RANGE), content.size)
    } else {
        Ranged::Full
    };
    let (status, range) = match ranged {
        Ranged::Full => (StatusCode::OK, None),
        Ranged::Partial(range) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        Ranged::Unsatisfiable => {
            let mut response =
                ApiError::from(FileError::RangeNotSatisfiable { size: content.size })
                    .into_response();
            let unsatisfied = format!("bytes */{}", content.size);
            set(response.headers_mut(), header::CONTENT_RANGE, &unsatisfied);
            describe(response.headers_mut(), &content);
            return Ok(response);
        }
    };
    let length = range.as_ref().map_or(content.size, |r| r.end - r.start);
    let stream = service::read(app, &content, range.clone()).await?;
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    describe(headers, &content);
    set(headers, header::CONTENT_TYPE, &content.content_type);
    set(headers, header::CONTENT_LENGTH, &length.to_string());
    let disposition = content_disposition(&content.filename);
    set(headers, header::CONTENT_DISPOSITION, &disposition);
    if let Some(range) = &range {
        let content_range = range::content_range(range, content.size);
        set(headers, header::CONTENT_RANGE, &content_range);
    }
    Ok(response)
}

/// Download your file
///
/// The bytes with `Content-Type` as sniffed, `Content-Disposition: attachment` (the name as
/// `filename*`), `X-Content-Type-Options: nosniff`, `Cache-Control: private` and the SHA-256 as
/// a strong `ETag`. One `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) is answered `206`; several
/// ranges, or a malformed one, get the whole file; a range past the end is `416`.
#[utoipa::path(get, path = "/api/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path),
        ("Range" = Option<String>, Header, description = "One byte range: `bytes=0-499`, `bytes=500-` or `bytes=-500`"),
        ("If-Range" = Option<String>, Header, description = "The ETag the range is of: when it is not the current one, the whole file is sent"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag you have: `304` if unchanged")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String))),
        (status = 206, description = "The requested range; `Content-Range` set", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String), ("Content-Range" = String))),
        (status = 304, description = "Not modified", headers(("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
        (status = 416, description = "`RANGE_NOT_SATISFIABLE`; `Content-Range: bytes */size`", body = ErrorBody)))]
pub async fn download_file(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let content = service::owned_content(&app, user.user_id, id).await?;
    respond(&app, content, &headers).await
}

/// Download through a signed link
///
/// What `POST /api/files/{id}/url` (and `thumbnailUrl`) hand out on local storage; no token
/// needed. Answers like `GET /api/files/{id}/content`.
#[utoipa::path(get, path = "/api/files/signed/{token}", tag = "files",
    params(("token" = String, Path),
        ("Range" = Option<String>, Header), ("If-Range" = Option<String>, Header),
        ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String))),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String), ("Content-Range" = String))),
        (status = 304, description = "Not modified", headers(("ETag" = String))),
        (status = 403, description = "`FORBIDDEN`: the link was altered or has expired", body = ErrorBody),
        (status = 404, description = "The file was deleted", body = ErrorBody),
        (status = 416, description = "`RANGE_NOT_SATISFIABLE`", body = ErrorBody)))]
pub async fn download_signed(
    State(app): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let content = service::signed_content(&app, &token).await?;
    respond(&app, content, &headers).await
}

#[cfg(test)]
mod tests {
    use super::names_etag;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        assert!(names_etag(Some("\"abc\""), "\"abc\""));
        assert!(names_etag(Some("\"x\", W/\"abc\""), "\"abc\""));
        assert!(names_etag(Some("*"), "\"abc\""));
        assert!(!names_etag(Some("\"abd\""), "\"abc\""));
        assert!(!names_etag(None, "\"abc\""));
    }
}
