//! Request and response types of the Files API.

use chrono::{DateTime, Utc};
use entity::file::FileStatus;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A file, as every endpoint returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDto {
    pub id: Uuid,
    /// The name the client gave, made safe for display: no path, no control or bidirectional
    /// characters, at most 255 bytes.
    #[schema(example = "holiday.jpg")]
    pub filename: String,
    /// Sniffed from the bytes, never taken from the client.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// `processing` until the background job has checked the file (and made an image's
    /// thumbnail), then `ready`, or `failed` (an image that does not decode; still downloadable).
    pub status: FileStatus,
    /// A signed, expiring link to a 256 px thumbnail (images only, once `ready`); it needs no
    /// token. Fetch the file again for a fresh one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub thumbnail_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/files/{id}/url`: a link that needs no token.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileUrlDto {
    /// Signed and time-limited: served by this server on local storage, an S3 presigned URL
    /// on S3.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A file in the account export: its metadata and a signed link to its bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    #[serde(flatten)]
    pub file: FileDto,
    pub url: String,
    pub url_expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListFilesQuery {
    /// 1..100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// >= 0; gives `total`. Exclusive with `cursor`.
    #[garde(inner(range(min = 0)))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page. Newest first.
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// The `multipart/form-data` body of `POST /api/files` (for the OpenAPI document; the body is
/// read as a stream, never as a whole).
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file: exactly one part named `file`. Its filename is kept for display; its
    /// `Content-Type` is ignored.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}
