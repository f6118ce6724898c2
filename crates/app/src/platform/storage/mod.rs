//! Object storage for uploaded files, through `object_store`: local disk under
//! `DATA_DIR/uploads` by default, S3 (or an S3-compatible store) when `S3_BUCKET_NAME` is set.
//! Both drivers answer the same calls, so the tests exercise one code path on either.
//!
//! Keys are chosen by the caller and never derive from anything a client sent. An upload is
//! invisible until it is committed ([`Upload::finish`]): on S3 it is a multipart upload until
//! completed, on disk a staging file (`key#N`) until it is renamed into place.

mod local;
mod s3;
mod upload;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer as _};
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt as _};

pub use upload::{Stored, Upload};

use super::config::StorageConfig;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("storage: {0}")]
    Store(object_store::Error),
    #[error("storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// A stream of an object's bytes (or of a range of them).
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// A stored object, as a listing sees it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub last_modified: DateTime<Utc>,
}

/// What a presigned download should tell the browser about the object.
pub struct Presign<'a> {
    pub content_type: &'a str,
    pub content_disposition: &'a str,
}

enum Driver {
    Local(local::Local),
    S3(Arc<object_store::aws::AmazonS3>),
}

pub struct Storage {
    store: Arc<dyn ObjectStore>,
    driver: Driver,
}

impl Storage {
    pub fn open(config: &StorageConfig) -> anyhow::Result<Self> {
        match config {
            StorageConfig::Local { root } => {
                let local = local::Local::open(root)?;
                Ok(Self {
                    store: local.store(),
                    driver: Driver::Local(local),
                })
            }
            StorageConfig::S3(s3_config) => {
                let s3 = Arc::new(s3::build(s3_config)?);
                Ok(Self {
                    store: s3.clone(),
                    driver: Driver::S3(s3),
                })
            }
        }
    }

    /// `local` or `s3`, for logs and `/health`.
    pub fn driver_name(&self) -> &'static str {
        match self.driver {
            Driver::Local(_) => "local",
            Driver::S3(_) => "s3",
        }
    }

    /// Whether downloads without a token go through this server's signed links (local disk)
    /// rather than presigned URLs of the store.
    pub fn serves_links_itself(&self) -> bool {
        matches!(self.driver, Driver::Local(_))
    }

    /// Starts writing `key`; nothing is visible there until [`Upload::finish`].
    pub fn upload(&self, key: &str) -> Upload {
        let (part_size, parts_in_flight) = match self.driver {
            // S3 refuses parts under 5 MiB (but the last).
            Driver::S3(_) => (5 << 20, 2),
            Driver::Local(_) => (1 << 20, 2),
        };
        Upload::new(
            self.store.clone(),
            Path::from(key),
            part_size,
            parts_in_flight,
        )
    }

    /// Stores a small object (a thumbnail) in one request.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store.put(&Path::from(key), bytes.into()).await?;
        Ok(())
    }

    /// The bytes of `key` in `range` (all of them when `None`).
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Path::from(key), options).await?;
        let range = result.range.clone();
        Ok(match result.payload {
            // object_store reads files 8 KiB per blocking call; larger reads stream faster.
            GetResultPayload::File(file, _) => local::file_stream(file, range),
            GetResultPayload::Stream(stream) => stream.map_err(StorageError::from).boxed(),
        })
    }

    /// Deletes `key`; an object already gone counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Every object under `prefix`.
    pub fn list(&self, prefix: &str) -> BoxStream<'static, Result<Listed, StorageError>> {
        self.store
            .list(Some(&Path::from(prefix)))
            .map(|meta| {
                let meta = meta?;
                Ok(Listed {
                    key: meta.location.to_string(),
                    last_modified: meta.last_modified,
                })
            })
            .boxed()
    }

    /// A presigned GET of `key` valid for `ttl`, on S3; `None` on local disk, where the
    /// caller signs a link to this server instead.
    pub async fn presign(
        &self,
        key: &str,
        ttl: Duration,
        presign: Presign<'_>,
    ) -> Result<Option<String>, StorageError> {
        let Driver::S3(s3) = &self.driver else {
            return Ok(None);
        };
        let options = SignedUrlOptions::default().with_query([
            ("response-content-type", presign.content_type),
            ("response-content-disposition", presign.content_disposition),
        ]);
        let url = s3
            .signed_url_opts(http::Method::GET, &Path::from(key), ttl, &options)
            .await?;
        Ok(Some(url.to_string()))
    }

    /// Removes what uploads interrupted by a crash left behind and is not visible through
    /// [`Storage::list`]: staging files on disk. On S3 an interrupted multipart upload is
    /// never visible; a bucket lifecycle rule (`AbortIncompleteMultipartUpload`) reclaims it.
    pub async fn sweep_abandoned_uploads(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        match &self.driver {
            Driver::Local(local) => local.sweep_staging_files(before).await,
            Driver::S3(_) => Ok(0),
        }
    }
}
