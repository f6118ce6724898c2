//! Writing one object from a stream of any length with flat memory: bytes are gathered into
//! parts of a fixed size, each hashed on the blocking pool and sent while the next fills, with
//! at most a few parts in flight. A file that fits in one part is stored with a single request.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt as _, UploadPart};
use sha2::{Digest, Sha256};

use super::StorageError;

/// What was committed: the object's size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

pub struct Upload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    part_size: usize,
    parts_in_flight: usize,
    buffer: Vec<u8>,
    /// Created with the first full part; small files never need one.
    multipart: Option<Box<dyn MultipartUpload>>,
    in_flight: FuturesUnordered<UploadPart>,
    hasher: Sha256,
    size: u64,
}

impl Upload {
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        part_size: usize,
        parts_in_flight: usize,
    ) -> Self {
        Self {
            store,
            path,
            part_size,
            parts_in_flight: parts_in_flight.max(1),
            buffer: Vec::new(),
            multipart: None,
            in_flight: FuturesUnordered::new(),
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), StorageError> {
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(self.part_size);
            }
            let take = (self.part_size - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == self.part_size {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Hashing a part is CPU work on a large input: the blocking pool's, not a runtime thread's.
    async fn hash(&mut self, part: Bytes) -> Result<Bytes, StorageError> {
        let mut hasher = std::mem::take(&mut self.hasher);
        let (hasher, part) = tokio::task::spawn_blocking(move || {
            hasher.update(&part);
            (hasher, part)
        })
        .await?;
        self.hasher = hasher;
        Ok(part)
    }

    async fn send_part(&mut self) -> Result<(), StorageError> {
        let part = Bytes::from(std::mem::take(&mut self.buffer));
        let part = self.hash(part).await?;
        if self.multipart.is_none() {
            self.multipart = Some(self.store.put_multipart(&self.path).await?);
        }
        while self.in_flight.len() >= self.parts_in_flight {
            if let Some(sent) = self.in_flight.next().await {
                sent?;
            }
        }
        if let Some(multipart) = self.multipart.as_mut() {
            self.in_flight.push(multipart.put_part(part.into()));
        }
        Ok(())
    }

    /// Commits the object: from here on it is visible under its key.
    pub async fn finish(mut self) -> Result<Stored, StorageError> {
        let last = Bytes::from(std::mem::take(&mut self.buffer));
        let last = self.hash(last).await?;
        match self.multipart.take() {
            None => {
                self.store.put(&self.path, last.into()).await?;
            }
            Some(mut multipart) => {
                if !last.is_empty() {
                    self.in_flight.push(multipart.put_part(last.into()));
                }
                let mut failed = None;
                while let Some(sent) = self.in_flight.next().await {
                    if let Err(err) = sent {
                        failed = Some(err);
                    }
                }
                if let Some(err) = failed {
                    let _ = multipart.abort().await;
                    return Err(err.into());
                }
                if let Err(err) = multipart.complete().await {
                    let _ = multipart.abort().await;
                    return Err(err.into());
                }
            }
        }
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok(Stored {
            size: self.size,
            sha256,
        })
    }

    /// Gives up: nothing becomes visible, and what was sent is discarded.
    pub async fn abort(mut self) {
        self.in_flight.clear();
        if let Some(mut multipart) = self.multipart.take()
            && let Err(err) = multipart.abort().await
        {
            tracing::warn!(error = %err, "could not abort an upload; its parts expire unseen");
        }
    }
}

impl Drop for Upload {
    /// An upload dropped half-way (the client went away, the request timed out) is aborted in
    /// the background, so that S3 does not keep its parts.
    fn drop(&mut self) {
        if let Some(mut multipart) = self.multipart.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = multipart.abort().await;
            });
        }
    }
}
