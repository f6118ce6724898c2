//! Copying a storage directory tree for a backup, and putting one back.

use std::path::Path;

use anyhow::Context as _;

/// `key#N`: an upload still being written (see `storage::local`); not part of a backup.
fn is_staging_file(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Copies every regular file under `from` into `to` (created), staging files left out.
/// Returns the files copied and their bytes. A missing `from` is an empty tree.
pub(super) fn copy(from: &Path, to: &Path) -> anyhow::Result<(u64, u64)> {
    crate::platform::private_fs::ensure_dir(to)?;
    let mut totals = (0, 0);
    if !from.is_dir() {
        return Ok(totals);
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let target = to.join(&name);
        if kind.is_dir() {
            let (count, bytes) = copy(&entry.path(), &target)?;
            totals = (totals.0 + count, totals.1 + bytes);
        } else if kind.is_file() && !is_staging_file(&name.to_string_lossy()) {
            match std::fs::copy(entry.path(), &target) {
                Ok(bytes) => totals = (totals.0 + 1, totals.1 + bytes),
                // Deleted since it was listed: it is not part of the snapshot either.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(err).with_context(|| format!("copying {}", entry.path().display()));
                }
            }
        }
    }
    sync_dir(to)?;
    Ok(totals)
}

/// Replaces the tree at `root` with a copy of `from`: copied beside it, then swapped in.
pub(super) fn replace(from: &Path, root: &Path) -> anyhow::Result<()> {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "uploads".to_owned());
    let parent = root.parent().unwrap_or(Path::new("."));
    let incoming = parent.join(format!(".{name}.restoring"));
    let outgoing = parent.join(format!(".{name}.replaced"));
    for leftover in [&incoming, &outgoing] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)?;
        }
    }
    copy(from, &incoming)?;
    if root.exists() {
        std::fs::rename(root, &outgoing)?;
    }
    std::fs::rename(&incoming, root)?;
    if outgoing.exists() {
        std::fs::remove_dir_all(&outgoing)?;
    }
    sync_dir(parent)
}

/// Makes the directory's entries (new names, renames) durable.
pub(super) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}
