//! The local-disk driver: objects are files under `DATA_DIR/uploads`, created `0700` like the
//! data directory, each written to a staging file and renamed into place (with `fsync`, so a
//! committed row never points at bytes a power cut could lose).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

use super::{ByteStream, StorageError};

/// Bytes read from disk per blocking call when streaming a download.
const READ_CHUNK: u64 = 256 * 1024;

pub(super) struct Local {
    root: PathBuf,
    fs: Arc<LocalFileSystem>,
}

impl Local {
    pub(super) fn open(root: &Path) -> anyhow::Result<Self> {
        crate::platform::private_fs::ensure_dir(root)
            .with_context(|| format!("creating the upload directory {}", root.display()))?;
        let fs = LocalFileSystem::new_with_prefix(root)
            .with_context(|| format!("opening the upload directory {}", root.display()))?
            .with_fsync(true);
        Ok(Self {
            root: root.to_path_buf(),
            fs: Arc::new(fs),
        })
    }

    pub(super) fn store(&self) -> Arc<dyn ObjectStore> {
        self.fs.clone()
    }

    /// Deletes staging files (`key#N`) last written before `before`: what an upload that died
    /// with the process left. Live uploads write theirs continuously.
    pub(super) async fn sweep_staging_files(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let root = self.root.clone();
        let before = std::time::SystemTime::from(before);
        Ok(tokio::task::spawn_blocking(move || sweep(&root, before)).await?)
    }
}

fn is_staging_file(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn sweep(root: &Path, before: std::time::SystemTime) -> u64 {
    let mut removed = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                dirs.push(path);
                continue;
            }
            let stale = meta.modified().is_ok_and(|at| at < before);
            let staging = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_staging_file);
            if staging && stale && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// Streams `range` of an open file in large chunks, each read on the blocking pool.
pub(super) fn file_stream(file: std::fs::File, range: Range<u64>) -> ByteStream {
    let state = (Some(file), range.start, range.end);
    futures::stream::try_unfold(state, |(file, position, end)| async move {
        let Some(mut file) = file else {
            return Ok(None);
        };
        if position >= end {
            return Ok(None);
        }
        let want = (end - position).min(READ_CHUNK);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(want as usize);
            file.seek(SeekFrom::Start(position))?;
            (&mut file).take(want).read_to_end(&mut chunk)?;
            Ok::<_, std::io::Error>((file, chunk))
        })
        .await?
        .map_err(|err| {
            StorageError::Store(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: Box::new(err),
            })
        })?;
        if chunk.is_empty() {
            // The file is shorter than its listing said: end here rather than spin.
            return Ok(None);
        }
        let next = position + chunk.len() as u64;
        Ok(Some((Bytes::from(chunk), (Some(file), next, end))))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::is_staging_file;

    #[test]
    fn only_numbered_suffixes_are_staging_files() {
        assert!(is_staging_file("0193a1b2-aaaa#1"));
        assert!(is_staging_file("x#12"));
        assert!(!is_staging_file("0193a1b2-aaaa"));
        assert!(!is_staging_file("x#"));
        assert!(!is_staging_file("x#1a"));
    }
}
