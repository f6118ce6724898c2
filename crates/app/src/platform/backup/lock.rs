//! `DATA_DIR/aios.lock`: every process using the data directory holds a shared lock on it
//! (`flock`), and `restore` takes it exclusively. Unlike a pid file it cannot go stale: the
//! kernel releases the lock when the process exits, however it exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::Context as _;

pub const LOCK_FILE: &str = "aios.lock";

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

fn open(data_dir: &Path) -> anyhow::Result<File> {
    crate::platform::private_fs::ensure_dir(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

impl DataDirLock {
    /// What `serve`, `worker` and `backup` hold: many may share it; a restore waits for none.
    pub fn shared(data_dir: &Path) -> anyhow::Result<Self> {
        let file = open(data_dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "a restore is running on {} (it holds {LOCK_FILE}); start once it is done",
                data_dir.display()
            ),
            Err(TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("locking {}", data_dir.join(LOCK_FILE).display()))
            }
        }
    }

    /// What `restore` takes: refused while any other process holds the lock.
    pub fn exclusive(data_dir: &Path) -> anyhow::Result<Self> {
        let file = open(data_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "a server, worker or backup is running on {} (it holds {LOCK_FILE}): stop it \
                 before restoring",
                data_dir.display()
            ),
            Err(TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("locking {}", data_dir.join(LOCK_FILE).display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exclusive_lock_is_refused_while_a_shared_one_is_held() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = DataDirLock::shared(dir.path())?;
        let second = DataDirLock::shared(dir.path())?;
        assert!(DataDirLock::exclusive(dir.path()).is_err());
        drop((first, second));
        let restoring = DataDirLock::exclusive(dir.path())?;
        assert!(DataDirLock::shared(dir.path()).is_err());
        drop(restoring);
        Ok(())
    }
}
