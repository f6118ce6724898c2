//! Backups of the embedded SQLite database and of the uploads kept on local disk, and their
//! restore (ADR 0014).
//!
//! A backup is a directory: `aios.db` (a `VACUUM INTO` snapshot, consistent while the server
//! writes), `uploads/` (a copy of the local storage directory, staging files left out) and
//! `manifest.json`. The database is snapshotted first and the files copied after it, so every
//! file row of the snapshot finds its bytes: uploads write their bytes before their row commits.
//! A file deleted between the two steps may be missing from the copy; its row then names
//! nothing, as after any lost object.
//!
//! The running processes (`serve`, `worker`, `backup`) hold a shared lock on
//! `DATA_DIR/aios.lock` (see [`lock`]); `restore` needs it exclusively, so it refuses to run
//! while any of them is alive, and the kernel drops a killed process's lock with it.

pub mod lock;
mod tree;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, DatabaseConnection};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::platform::config::{Config, StorageConfig};
use crate::platform::private_fs;

pub const MANIFEST: &str = "manifest.json";
const DATABASE_FILE: &str = "aios.db";
const UPLOADS_DIR: &str = "uploads";
const FORMAT: u32 = 1;
/// Scheduled backups are directories named `aios-backup-<UTC time>`.
const SCHEDULED_PREFIX: &str = "aios-backup-";

/// What `aios-server backup` says on PostgreSQL, where it does nothing.
pub const POSTGRES_ROUTE: &str = "backup and restore copy the embedded SQLite database; with \
    DATABASE_URL (PostgreSQL) use pg_dump and pg_restore instead, for example \
    `pg_dump --format=custom --file=aios.dump \"$DATABASE_URL\"` and \
    `pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" aios.dump`, \
    or your provider's snapshots; uploads on S3 are kept by the bucket (enable versioning)";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    pub server_version: String,
    pub database: DatabaseCopy,
    /// `None` when the uploads live on S3: they are not in the backup.
    pub files: Option<FilesCopy>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseCopy {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilesCopy {
    pub dir: String,
    pub count: u64,
    pub bytes: u64,
}

fn local_root(config: &Config) -> Option<&Path> {
    match &config.files.storage {
        StorageConfig::Local { root } => Some(root),
        StorageConfig::S3(_) => None,
    }
}

fn sha256_of(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Writes a backup into `dest`, which must not exist yet (its parent is created). Refused on
/// PostgreSQL.
pub async fn create(
    db: &DatabaseConnection,
    config: &Config,
    dest: &Path,
) -> anyhow::Result<Manifest> {
    if config.database_url_is_postgres() {
        anyhow::bail!("{POSTGRES_ROUTE}");
    }
    if dest.exists() {
        anyhow::bail!("{} exists already: give a new directory", dest.display());
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    private_fs::ensure_dir(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Built under a temporary name and renamed once complete: a directory that exists is whole.
    let name = dest
        .file_name()
        .context("the backup path needs a final directory name")?;
    let staging = parent.join(format!(".{}.partial", name.to_string_lossy()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the leftover {}", staging.display()))?;
    }
    private_fs::ensure_dir(&staging)?;
    let result = fill(db, config, &staging).await;
    match result {
        Ok(manifest) => {
            std::fs::rename(&staging, dest)
                .with_context(|| format!("renaming the backup into {}", dest.display()))?;
            Ok(manifest)
        }
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(err)
        }
    }
}

async fn fill(db: &DatabaseConnection, config: &Config, dir: &Path) -> anyhow::Result<Manifest> {
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let database_file = dir.join(DATABASE_FILE);
    let target = database_file
        .to_str()
        .context("the backup path must be valid UTF-8 (SQLite's VACUUM INTO takes a string)")?
        .replace('\'', "''");
    // A read transaction of its own: a consistent snapshot while the server keeps writing.
    db.execute_unprepared(&format!("VACUUM INTO '{target}'"))
        .await
        .context("VACUUM INTO (the database snapshot)")?;
    let root = local_root(config).map(Path::to_path_buf);
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        private_fs::ensure_file(&database_file)?;
        let (bytes, sha256) = sha256_of(&database_file)?;
        let files = match root {
            Some(root) => {
                let (count, bytes) = tree::copy(&root, &dir.join(UPLOADS_DIR))
                    .with_context(|| format!("copying the uploads of {}", root.display()))?;
                Some(FilesCopy {
                    dir: UPLOADS_DIR.to_owned(),
                    count,
                    bytes,
                })
            }
            None => None,
        };
        let manifest = Manifest {
            format: FORMAT,
            created_at,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            database: DatabaseCopy {
                file: DATABASE_FILE.to_owned(),
                bytes,
                sha256,
            },
            files,
        };
        let path = dir.join(MANIFEST);
        std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)?;
        tree::sync_dir(&dir)?;
        Ok(manifest)
    })
    .await?
}

/// A scheduled backup: a new `aios-backup-<time>` directory under `BACKUP_DIR`, then the
/// oldest ones deleted so that `BACKUP_KEEP` remain. Returns the new directory.
pub async fn create_scheduled(db: &DatabaseConnection, config: &Config) -> anyhow::Result<PathBuf> {
    let dir = &config.backup.dir;
    let name = format!(
        "{SCHEDULED_PREFIX}{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let dest = dir.join(name);
    create(db, config, &dest).await?;
    let dir = dir.clone();
    let keep = config.backup.keep;
    let removed = tokio::task::spawn_blocking(move || prune(&dir, keep)).await??;
    tracing::info!(backup = %dest.display(), removed, "backup written");
    Ok(dest)
}

/// Deletes the oldest scheduled backups in `dir` beyond the newest `keep`. Names sort by time.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<usize> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join(MANIFEST).is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with(SCHEDULED_PREFIX))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for name in &names[..excess] {
        std::fs::remove_dir_all(dir.join(name))
            .with_context(|| format!("removing the old backup {name}"))?;
    }
    Ok(excess)
}

/// Restores the backup in `src` into `DATA_DIR` (the database) and the local storage directory
/// (the files). Refused while a process holds `DATA_DIR/aios.lock`. Blocking: call it from
/// `spawn_blocking`.
pub fn restore(config: &Config, src: &Path) -> anyhow::Result<Manifest> {
    if config.database_url_is_postgres() {
        anyhow::bail!("{POSTGRES_ROUTE}");
    }
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(src.join(MANIFEST))
            .with_context(|| format!("{} is not a backup (no {MANIFEST})", src.display()))?,
    )
    .with_context(|| format!("reading {}", src.join(MANIFEST).display()))?;
    if manifest.format != FORMAT {
        anyhow::bail!(
            "backup format {} is not one this version reads",
            manifest.format
        );
    }
    let snapshot = src.join(&manifest.database.file);
    let (bytes, sha256) =
        sha256_of(&snapshot).with_context(|| format!("reading {}", snapshot.display()))?;
    if bytes != manifest.database.bytes || sha256 != manifest.database.sha256 {
        anyhow::bail!(
            "{} does not match the manifest: the backup is damaged",
            snapshot.display()
        );
    }
    private_fs::ensure_dir(&config.data_dir)?;
    let _lock = lock::DataDirLock::exclusive(&config.data_dir)?;

    let database = config.sqlite_path();
    let incoming = database.with_extension("db.restoring");
    std::fs::copy(&snapshot, &incoming)
        .with_context(|| format!("copying the database into {}", incoming.display()))?;
    private_fs::ensure_file(&incoming)?;
    std::fs::File::open(&incoming)?.sync_all()?;
    // The old write-ahead log would be replayed into the restored database: it goes first.
    for suffix in ["db-wal", "db-shm"] {
        let stale = database.with_extension(suffix);
        if stale.exists() {
            std::fs::remove_file(&stale)
                .with_context(|| format!("removing {}", stale.display()))?;
        }
    }
    std::fs::rename(&incoming, &database)?;

    match (&manifest.files, local_root(config)) {
        (Some(files), Some(root)) => tree::replace(&src.join(&files.dir), root)
            .with_context(|| format!("restoring the uploads into {}", root.display()))?,
        (Some(_), None) => {
            tracing::warn!("the backup holds uploads but storage is S3 now: they were not restored")
        }
        (None, _) => {}
    }
    tree::sync_dir(&config.data_dir)?;
    Ok(manifest)
}
