//! Background work on stored files: processing a new upload (`file:uploaded`), removing the
//! objects of a deleted file (`file:deleted`), and the sweep of orphaned objects.

use std::time::Duration;

use bytes::Bytes;
use entity::file::FileStatus;
use futures::TryStreamExt as _;
use sha2::{Digest as _, Sha256};

use super::events::{FileDeleted, FileUploaded};
use super::repo::{self, File, Processed, StoredThumbnail};
use super::thumbnail;
use crate::platform::breaker::{BreakerConfig, CircuitBreaker};
use crate::platform::clock;
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::jobs::spec::JobSpec;
use crate::platform::storage::StorageError;
use crate::state::AppState;

/// How many `file:uploaded` jobs one worker runs at once, and how long one may take (the runner
/// applies both, on the job type's own queue, so processing never holds up email). Image work
/// is bounded inside the job as well.
pub const PROCESS_CONCURRENCY: usize = 2;
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);
/// How long decoding and encoding one thumbnail may take before the file is marked failed.
pub const IMAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes hashed per call on the blocking pool when the stored object is checked.
const HASH_CHUNK: usize = 1 << 20;

pub(super) fn storage_breaker(app: &AppState) -> std::sync::Arc<CircuitBreaker> {
    app.breakers.get_or_create(
        "storage",
        BreakerConfig {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        },
    )
}

/// Runs `work` against the store under its circuit breaker: while the store is known to be
/// down the job waits (`Defer`) without spending an attempt.
pub(super) async fn with_storage<T>(
    app: &AppState,
    work: impl Future<Output = Result<T, StorageError>>,
) -> Result<Result<T, StorageError>, JobError> {
    let breaker = storage_breaker(app);
    let permit = breaker.try_acquire().map_err(|rejected| JobError::Defer {
        after: rejected.retry_in,
        reason: "storage circuit open".to_owned(),
    })?;
    let outcome = work.await;
    match &outcome {
        Err(StorageError::Store(_) | StorageError::Task(_)) => permit.failure(),
        _ => permit.success(),
    }
    Ok(outcome)
}

/// The stored object, read back: its size and SHA-256, and its bytes when `keep` is set.
struct ReadBack {
    size: u64,
    sha256: String,
    bytes: Option<Vec<u8>>,
}

async fn read_back(app: &AppState, key: &str, keep: bool) -> Result<ReadBack, StorageError> {
    let mut stream = app.storage.read(key, None).await?;
    let mut hasher = Sha256::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut kept = keep.then(Vec::new);
    let mut size = 0u64;
    let hash = |hasher: Sha256, chunk: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            let mut hasher = hasher;
            hasher.update(&chunk);
            (hasher, chunk)
        })
    };
    while let Some(chunk) = stream.try_next().await? {
        size += chunk.len() as u64;
        if let Some(kept) = kept.as_mut() {
            kept.extend_from_slice(&chunk);
        }
        pending.extend_from_slice(&chunk);
        if pending.len() >= HASH_CHUNK {
            let (next, buffer) = hash(hasher, std::mem::take(&mut pending)).await?;
            hasher = next;
            pending = buffer;
            pending.clear();
        }
    }
    let (hasher, _) = hash(hasher, pending).await?;
    Ok(ReadBack {
        size,
        sha256: hex::encode(hasher.finalize()),
        bytes: kept,
    })
}

/// `file:uploaded`: checks the stored bytes against the upload's checksum, makes the thumbnail
/// of an image, and marks the file `ready` (or `failed`, keeping the original downloadable).
pub struct ProcessUploadedFile;

#[async_trait::async_trait]
impl EventHandler<FileUploaded> for ProcessUploadedFile {
    async fn handle(
        &self,
        app: &AppState,
        event: FileUploaded,
        _delivery: Delivery,
    ) -> Result<(), JobError> {
        process(app, event).await
    }

    fn spec(&self) -> JobSpec {
        JobSpec {
            concurrency: PROCESS_CONCURRENCY,
            timeout: PROCESS_TIMEOUT,
            ..JobSpec::default()
        }
    }
}

/// What `ProcessUploadedFile` does (the runner bounds it by `PROCESS_TIMEOUT`).
async fn process(app: &AppState, event: FileUploaded) -> Result<(), JobError> {
    let Some(file) = repo::find(&*app.db, event.file_id).await? else {
        return Ok(()); // deleted before it was processed
    };
    if file.status != FileStatus::Processing {
        return Ok(()); // a repeated delivery
    }
    let format = thumbnail::format_of(&file.content_type);
    let size = u64::try_from(file.size).unwrap_or(0);
    let decode = format.is_some() && size <= thumbnail::MAX_SOURCE_BYTES;
    let read = with_storage(app, read_back(app, &file.storage_key, decode)).await?;
    let outcome = match read {
        Ok(back) if back.size != size || back.sha256 != file.sha256 => {
            failed("the stored bytes do not match the upload's checksum")
        }
        Ok(ReadBack {
            bytes: Some(bytes), ..
        }) => match format {
            Some(format) => thumbnail_of(app, &file, bytes, format).await?,
            None => ready(None),
        },
        Ok(_) => ready(None),
        Err(StorageError::NotFound) => failed("the stored bytes are missing"),
        Err(err) => return Err(JobError::retry(err)),
    };
    let thumbnail_key = outcome.thumbnail.as_ref().map(|t| t.key.clone());
    let status = outcome.status;
    let recorded = repo::finish_processing(&*app.db, file.id, outcome, clock::now()).await?;
    if !recorded && let Some(key) = thumbnail_key {
        // The file was deleted while we worked: its thumbnail must not outlive it.
        let _ = app.storage.delete(&key).await;
    }
    tracing::info!(file.id = %file.id, status = ?status, "file processed");
    Ok(())
}

fn ready(thumbnail: Option<StoredThumbnail>) -> Processed {
    Processed {
        status: FileStatus::Ready,
        thumbnail,
        failure: None,
    }
}

fn failed(reason: impl Into<String>) -> Processed {
    Processed {
        status: FileStatus::Failed,
        thumbnail: None,
        failure: Some(reason.into()),
    }
}

/// Decodes and scales on the blocking pool, within [`IMAGE_TIMEOUT`]. An image that cannot be
/// made into a thumbnail fails the file; the store failing is retried.
async fn thumbnail_of(
    app: &AppState,
    file: &File,
    bytes: Vec<u8>,
    format: image::ImageFormat,
) -> Result<Processed, JobError> {
    let work = tokio::task::spawn_blocking(move || thumbnail::make(&bytes, format));
    let made = match tokio::time::timeout(IMAGE_TIMEOUT, work).await {
        Err(_elapsed) => return Ok(failed("making the thumbnail took too long")),
        Ok(Err(join)) => return Ok(failed(format!("the image decoder crashed: {join}"))),
        Ok(Ok(Err(unusable))) => return Ok(failed(unusable.0)),
        Ok(Ok(Ok(made))) => made,
    };
    let key = format!("thumbs/{}", file.id);
    let size = i64::try_from(made.bytes.len()).unwrap_or(i64::MAX);
    with_storage(app, app.storage.put(&key, Bytes::from(made.bytes)))
        .await?
        .map_err(JobError::retry)?;
    Ok(ready(Some(StoredThumbnail {
        key,
        content_type: made.content_type.to_owned(),
        size,
    })))
}

/// `file:deleted`: removes the objects of a deleted file. Retried until the store has done it.
pub struct RemoveStoredFile;

#[async_trait::async_trait]
impl EventHandler<FileDeleted> for RemoveStoredFile {
    async fn handle(
        &self,
        app: &AppState,
        event: FileDeleted,
        _delivery: Delivery,
    ) -> Result<(), JobError> {
        for key in &event.keys {
            with_storage(app, app.storage.delete(key))
                .await?
                .map_err(JobError::retry)?;
        }
        tracing::debug!(file.id = %event.file_id, "stored objects removed");
        Ok(())
    }
}
