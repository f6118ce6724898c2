//! The rules of the Files API besides the upload itself (`upload.rs`): ownership, links,
//! listing, downloads and deletion. Other features use the functions at the end (export and
//! account deletion).

use chrono::{DateTime, Utc};
use entity::{FileId, UserId};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::dto::{ExportedFile, FileDto, FileUrlDto, ListFilesQuery};
use super::error::FileError;
use super::events::FileDeleted;
use super::links::{self, Variant};
use super::repo::{self, File};
use crate::platform::jobs::outbox;
use crate::platform::pagination::{Page, PageRequest, PageStart};
use crate::platform::storage::ByteStream;
use crate::platform::{clock, db};
use crate::state::AppState;

impl FileDto {
    /// The DTO of a file that has no thumbnail (yet), e.g. right after its upload.
    pub fn without_thumbnail(file: File) -> Self {
        Self {
            id: file.id.into(),
            filename: file.filename,
            content_type: file.content_type,
            size: file.size,
            sha256: file.sha256,
            status: file.status,
            thumbnail_url: None,
            created_at: file.created_at,
        }
    }
}

/// The DTO with a fresh signed link to its thumbnail, if it has one.
async fn dto(app: &AppState, base: &str, file: File) -> Result<FileDto, FileError> {
    let thumbnail = links::link(app, base, &file, Variant::Thumbnail).await?;
    let mut dto = FileDto::without_thumbnail(file);
    dto.thumbnail_url = thumbnail.map(|(url, _)| url);
    Ok(dto)
}

pub async fn find_owned(app: &AppState, owner: UserId, id: FileId) -> Result<File, FileError> {
    repo::find_owned(&*app.db, owner, id)
        .await?
        .ok_or(FileError::NotFound)
}

#[tracing::instrument(skip_all, fields(user.id = %owner, file.id = %id))]
pub async fn get(
    app: &AppState,
    owner: UserId,
    id: FileId,
    base: &str,
) -> Result<FileDto, FileError> {
    let file = find_owned(app, owner, id).await?;
    dto(app, base, file).await
}

#[derive(Serialize, Deserialize)]
struct FileCursor(DateTime<Utc>, FileId);

#[tracing::instrument(skip_all, fields(user.id = %owner))]
pub async fn list(
    app: &AppState,
    owner: UserId,
    query: ListFilesQuery,
    base: &str,
) -> Result<Page<FileDto>, FileError> {
    let page = PageRequest::new(query.limit, query.offset, query.cursor.as_deref(), |c| {
        app.cursors.decode::<FileCursor>(c)
    })?;
    let (after, offset) = match &page.start {
        PageStart::Offset(offset) => (None, *offset),
        PageStart::After(FileCursor(at, id)) => (Some((*at, *id)), 0),
    };
    let rows = repo::list(&*app.db, owner, after, offset, page.limit + 1).await?;
    let total = match page.start {
        PageStart::Offset(_) => Some(repo::count(&*app.db, owner).await?),
        PageStart::After(_) => None,
    };
    let page = page.finish(
        rows,
        total,
        |f| app.cursors.encode(&FileCursor(f.created_at, f.id)),
        |f| f,
    );
    let mut items = Vec::with_capacity(page.items.len());
    for file in page.items {
        items.push(dto(app, base, file).await?);
    }
    Ok(Page {
        items,
        limit: page.limit,
        offset: page.offset,
        total: page.total,
        next_cursor: page.next_cursor,
    })
}

/// `POST /api/files/{id}/url`.
#[tracing::instrument(skip_all, fields(user.id = %owner, file.id = %id))]
pub async fn signed_url(
    app: &AppState,
    owner: UserId,
    id: FileId,
    base: &str,
) -> Result<FileUrlDto, FileError> {
    let file = find_owned(app, owner, id).await?;
    let (url, expires_at) = links::link(app, base, &file, Variant::Original)
        .await?
        .ok_or(FileError::NotFound)?;
    Ok(FileUrlDto { url, expires_at })
}

/// What a download sends: which object, and what the response says about it.
#[derive(Debug, Clone)]
pub struct Content {
    pub key: String,
    pub content_type: String,
    pub size: u64,
    /// A strong ETag: the content's SHA-256 (the thumbnail's is marked apart).
    pub etag: String,
    pub filename: String,
}

impl Content {
    fn of(file: File, variant: Variant) -> Option<Self> {
        let size = |n: i64| u64::try_from(n).unwrap_or(0);
        match variant {
            Variant::Original => Some(Self {
                etag: format!("\"{}\"", file.sha256),
                size: size(file.size),
                key: file.storage_key,
                content_type: file.content_type,
                filename: file.filename,
            }),
            Variant::Thumbnail => Some(Self {
                etag: format!("\"thumbnail-{}\"", file.sha256),
                size: size(file.thumbnail_size?),
                key: file.thumbnail_key?,
                content_type: file.thumbnail_type?,
                filename: format!("thumbnail-{}", file.filename),
            }),
        }
    }
}

/// `GET /api/files/{id}/content`: your own file's bytes.
pub async fn owned_content(
    app: &AppState,
    owner: UserId,
    id: FileId,
) -> Result<Content, FileError> {
    let file = find_owned(app, owner, id).await?;
    Content::of(file, Variant::Original).ok_or(FileError::NotFound)
}

/// `GET /api/files/signed/{token}`: a tampered or expired link is refused before anything is
/// looked up; a valid link to a file deleted since is not found.
pub async fn signed_content(app: &AppState, token: &str) -> Result<Content, FileError> {
    let grant = links::verify(&app.file_link_key, token, clock::now())?;
    let file = repo::find(&*app.db, grant.file_id)
        .await?
        .ok_or(FileError::NotFound)?;
    Content::of(file, grant.variant).ok_or(FileError::NotFound)
}

/// The bytes of `content`, or of `range` of them.
pub async fn read(
    app: &AppState,
    content: &Content,
    range: Option<std::ops::Range<u64>>,
) -> Result<ByteStream, FileError> {
    Ok(app.storage.read(&content.key, range).await?)
}

/// The `file:deleted` event that removes a deleted file's stored objects.
fn deletion_of(file: &File) -> FileDeleted {
    let mut keys = vec![file.storage_key.clone()];
    keys.extend(file.thumbnail_key.clone());
    FileDeleted {
        file_id: file.id,
        keys,
    }
}

/// Deletes the row and gives the bytes back to the quota at once; a job removes the stored
/// objects (retried until it succeeds, and the orphan sweep catches any it misses).
#[tracing::instrument(skip_all, fields(user.id = %owner, file.id = %id))]
pub async fn delete(app: &AppState, owner: UserId, id: FileId) -> Result<(), FileError> {
    let txn = db::begin_write(&app.db).await?;
    let file = repo::delete_owned(&txn, owner, id)
        .await?
        .ok_or(FileError::NotFound)?;
    repo::release(&txn, owner, file.size).await?;
    outbox::enqueue(&txn, &deletion_of(&file)).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    Ok(())
}

/// Every file of `owner` with a signed link to its bytes, for the account export.
pub async fn export_all(
    app: &AppState,
    owner: UserId,
    base: &str,
) -> Result<Vec<ExportedFile>, FileError> {
    let mut exported = Vec::new();
    for file in repo::all_of_owner(&*app.db, owner).await? {
        let (url, url_expires_at) = links::link(app, base, &file, Variant::Original)
            .await?
            .ok_or(FileError::NotFound)?;
        exported.push(ExportedFile {
            file: dto(app, base, file).await?,
            url,
            url_expires_at,
        });
    }
    Ok(exported)
}

/// Deletes every file row of `owner` inside the caller's transaction (account deletion) and
/// queues the removal of their stored objects with it. Wake the outbox relay after commit.
pub async fn delete_all_of_owner(conn: &impl ConnectionTrait, owner: UserId) -> Result<(), DbErr> {
    for file in repo::delete_all_of_owner(conn, owner).await? {
        outbox::enqueue(conn, &deletion_of(&file)).await?;
    }
    Ok(())
}
