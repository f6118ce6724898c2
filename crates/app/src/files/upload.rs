//! `POST /api/files`: a `multipart/form-data` body read as a stream. The one `file` part goes
//! to storage as it arrives, hashed and counted on the way, so memory stays flat whatever its
//! size; its type is sniffed from its first bytes. The object stays invisible until the body
//! has been read to its end and every check passed, and the row, the quota and the
//! `file:uploaded` event are then committed in one transaction ([`commit`]).

use std::time::Duration;

use bytes::Bytes;
use entity::file::FileStatus;
use entity::{FileId, UserId};
use futures::Stream;
use multer::{Constraints, Field, Multipart, SizeLimit};

use super::dto::FileDto;
use super::error::FileError;
use super::events::FileUploaded;
use super::filename;
use super::repo::{self, File};
use crate::platform::idempotency::{self, Claim};
use crate::platform::jobs::outbox;
use crate::platform::sniff::{self, TextCheck};
use crate::platform::storage::Upload;
use crate::platform::{clock, db};
use crate::state::AppState;

/// Room for the multipart framing (boundaries, part headers) around the file itself.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// How long a refused upload's remaining body is read (and dropped) before answering, so the
/// client, still sending, gets to read the answer instead of a reset connection.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request as the handler received it.
pub struct Incoming<S> {
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: S,
}

/// A file whose bytes are stored (under a key nothing points at yet) but not committed.
pub struct Received {
    file: File,
}

impl Received {
    /// What identifies the request for `Idempotency-Key`: a retry carries the same file.
    pub fn fingerprint(&self) -> serde_json::Value {
        serde_json::json!({
            "filename": self.file.filename,
            "size": self.file.size,
            "sha256": self.file.sha256,
        })
    }
}

/// Where a file's bytes are kept: derived from its id alone.
pub fn storage_key(id: FileId) -> String {
    format!("files/{id}")
}

/// The file part being stored.
struct Pending {
    filename: String,
    content_type: &'static str,
    upload: Upload,
}

/// Reads the body and stores its file. Refusals come as soon as they are known: too large,
/// over the quota or of a type not allowed, with nothing kept.
#[tracing::instrument(skip_all, fields(user.id = %owner))]
pub async fn receive<S, E>(
    app: &AppState,
    owner: UserId,
    incoming: Incoming<S>,
) -> Result<Received, FileError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let config = &app.config.files;
    let boundary = incoming
        .content_type
        .as_deref()
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or(FileError::NotMultipart)?;
    let whole_limit = config.max_upload_bytes + MULTIPART_OVERHEAD;
    if incoming.content_length.is_some_and(|len| len > whole_limit) {
        return Err(FileError::TooLarge {
            limit: config.max_upload_bytes,
        });
    }
    let used = repo::usage(&*app.db, owner).await?;
    let limits = Limits {
        max: config.max_upload_bytes,
        room: config.max_storage_bytes_per_user.saturating_sub(used),
        quota: config.max_storage_bytes_per_user,
    };
    let constraints = Constraints::new().size_limit(SizeLimit::new().whole_stream(whole_limit));
    let mut multipart = Multipart::with_constraints(incoming.body, boundary, constraints);
    let id = FileId::new();
    let key = storage_key(id);
    let pending = match read_parts(app, &mut multipart, &key, limits).await {
        Ok(pending) => pending,
        Err(err) => {
            drain(&mut multipart).await;
            return Err(err);
        }
    };
    let stored = pending.upload.finish().await?;
    let now = clock::now();
    Ok(Received {
        file: File {
            id,
            owner_id: owner,
            filename: pending.filename,
            content_type: pending.content_type.to_owned(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            sha256: stored.sha256,
            storage_key: key,
            status: FileStatus::Processing,
            thumbnail_key: None,
            thumbnail_type: None,
            thumbnail_size: None,
            failure: None,
            created_at: now,
            updated_at: now,
        },
    })
}

#[derive(Clone, Copy)]
struct Limits {
    max: u64,
    /// What the owner's quota has left.
    room: u64,
    quota: u64,
}

impl Limits {
    fn check(&self, size: u64) -> Result<(), FileError> {
        if size > self.max {
            Err(FileError::TooLarge { limit: self.max })
        } else if size > self.room {
            Err(FileError::QuotaExceeded { limit: self.quota })
        } else {
            Ok(())
        }
    }
}

fn multipart_error(err: multer::Error) -> FileError {
    match err {
        multer::Error::StreamSizeExceeded { limit } => FileError::TooLarge {
            limit: limit.saturating_sub(MULTIPART_OVERHEAD),
        },
        other => FileError::BadMultipart(other.to_string()),
    }
}

/// A part's name as it may be shown back: printable ASCII, short.
fn part_name(raw: Option<&str>) -> String {
    raw.unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

async fn read_parts(
    app: &AppState,
    multipart: &mut Multipart<'static>,
    key: &str,
    limits: Limits,
) -> Result<Pending, FileError> {
    let mut pending: Option<Pending> = None;
    let read = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.name() != Some("file") {
                return Err(FileError::UnexpectedPart(part_name(field.name())));
            }
            if pending.is_some() {
                return Err(FileError::SeveralFileParts);
            }
            pending = Some(store_part(app, field, key, limits).await?);
        }
        Ok(())
    }
    .await;
    match (read, pending) {
        (Ok(()), Some(pending)) => Ok(pending),
        (Ok(()), None) => Err(FileError::NoFilePart),
        (Err(err), pending) => {
            if let Some(pending) = pending {
                pending.upload.abort().await;
            }
            Err(err)
        }
    }
}

async fn store_part(
    app: &AppState,
    mut field: Field<'static>,
    key: &str,
    limits: Limits,
) -> Result<Pending, FileError> {
    let filename = filename::sanitize(field.file_name());
    let mut head = Vec::new();
    let mut ended = false;
    while head.len() < sniff::SNIFF_LEN {
        match field.chunk().await.map_err(multipart_error)? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => {
                ended = true;
                break;
            }
        }
    }
    limits.check(head.len() as u64)?;
    let content_type = sniff::sniff(&head, ended);
    if !app
        .config
        .files
        .allowed_types
        .iter()
        .any(|t| t == content_type)
    {
        return Err(FileError::TypeNotAllowed {
            content_type: content_type.to_owned(),
        });
    }
    let mut text = sniff::is_text(content_type).then(TextCheck::default);
    let mut upload = app.storage.upload(key);
    let written = async {
        write(&mut upload, text.as_mut(), &head).await?;
        while !ended && let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            limits.check(upload.size() + chunk.len() as u64)?;
            write(&mut upload, text.as_mut(), &chunk).await?;
        }
        // Text that turned out to hold binary bytes past the sniffed head is not text.
        if text.as_ref().is_some_and(|check| !check.is_text(true)) {
            return Err(FileError::TypeNotAllowed {
                content_type: sniff::UNKNOWN.to_owned(),
            });
        }
        Ok(())
    }
    .await;
    match written {
        Ok(()) => Ok(Pending {
            filename,
            content_type,
            upload,
        }),
        Err(err) => {
            upload.abort().await;
            Err(err)
        }
    }
}

async fn write(
    upload: &mut Upload,
    text: Option<&mut TextCheck>,
    bytes: &[u8],
) -> Result<(), FileError> {
    if let Some(check) = text {
        check.feed(bytes);
    }
    upload.write(bytes).await?;
    Ok(())
}

/// Reads what is left of a refused body, within [`DRAIN_TIME`] and the body's size limit.
async fn drain(multipart: &mut Multipart<'static>) {
    let rest = async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, rest).await;
}

/// Commits a received file: counts it against the owner's quota (refusing it if concurrent
/// uploads took the room meanwhile), stores its row and the `file:uploaded` event, and
/// completes the `Idempotency-Key` claim, all in one transaction.
#[tracing::instrument(skip_all, fields(user.id = %received.file.owner_id, file.id = %received.file.id))]
pub async fn commit(
    app: &AppState,
    received: &Received,
    claim: Option<&Claim>,
) -> Result<FileDto, FileError> {
    let file = &received.file;
    let quota = app.config.files.max_storage_bytes_per_user;
    let txn = db::begin_write(&app.db).await?;
    let limit = i64::try_from(quota).unwrap_or(i64::MAX);
    if !repo::reserve(&txn, file.owner_id, file.size, limit).await? {
        return Err(FileError::QuotaExceeded { limit: quota });
    }
    repo::insert(&txn, file).await?;
    outbox::enqueue(
        &txn,
        &FileUploaded {
            file_id: file.id,
            path: file.storage_key.clone(),
        },
    )
    .await?;
    let dto = FileDto::without_thumbnail(file.clone());
    if let Some(claim) = claim {
        idempotency::complete(&txn, claim, 201, &dto, &created_headers(&dto)).await?;
    }
    txn.commit().await?;
    app.wake_outbox_relay();
    tracing::info!(size = file.size, content_type = %file.content_type, "file uploaded");
    Ok(dto)
}

/// `Location` of a new file, stored with idempotent replays too.
pub fn created_headers(file: &FileDto) -> Vec<(String, String)> {
    vec![("location".to_owned(), format!("/api/files/{}", file.id))]
}

/// Deletes the bytes of a file that was not committed (a replayed or refused request).
pub async fn discard(app: &AppState, received: Received) {
    if let Err(err) = app.storage.delete(&received.file.storage_key).await {
        tracing::warn!(error = %err, key = %received.file.storage_key,
            "could not delete an uncommitted upload; the orphan sweep will");
    }
}
