//! The orphan sweep: stored objects with no file row, older than an hour, are deleted. They
//! are what a crash between committing an object and committing its row leaves, or a
//! deletion whose job gave up; interrupted uploads' staging files go too.

use std::collections::HashSet;

use chrono::TimeDelta;
use entity::FileId;
use futures::TryStreamExt as _;

use super::repo;
use crate::platform::clock;
use crate::platform::config::Config;
use crate::platform::jobs::schedule::ScheduledTask;
use crate::platform::storage::Listed;
use crate::state::AppState;

/// Where objects live: originals and thumbnails, each named by its file's id.
const PREFIXES: &[&str] = &["files", "thumbs"];
const BATCH: usize = 500;
const MIN_AGE: TimeDelta = TimeDelta::hours(1);

/// The id in a key like `files/<id>` or `thumbs/<id>`.
fn id_of(key: &str) -> Option<FileId> {
    let name = key.rsplit('/').next()?;
    name.parse::<uuid::Uuid>().ok().map(FileId::from)
}

pub struct SweepOrphanedFiles;

/// Deletes orphaned objects; returns how many.
pub async fn sweep_orphans(app: &AppState) -> anyhow::Result<u64> {
    // An upload's object exists before its row for as long as the upload runs: never count a
    // running upload as an orphan.
    let upload_window = TimeDelta::from_std(app.config.files.upload_timeout)?;
    let before = clock::now() - MIN_AGE.max(upload_window + TimeDelta::minutes(10));
    let mut removed = app.storage.sweep_abandoned_uploads(before).await?;
    for prefix in PREFIXES {
        let mut listing = app.storage.list(prefix);
        let mut batch: Vec<(Listed, Option<FileId>)> = Vec::new();
        while let Some(object) = listing.try_next().await? {
            if object.last_modified < before {
                let id = id_of(&object.key);
                batch.push((object, id));
            }
            if batch.len() >= BATCH {
                removed += remove_orphans(app, std::mem::take(&mut batch)).await?;
            }
        }
        removed += remove_orphans(app, batch).await?;
    }
    Ok(removed)
}

async fn remove_orphans(
    app: &AppState,
    batch: Vec<(Listed, Option<FileId>)>,
) -> anyhow::Result<u64> {
    let ids: Vec<FileId> = batch.iter().filter_map(|(_, id)| *id).collect();
    let live: HashSet<FileId> = repo::existing(&*app.db, &ids).await?.into_iter().collect();
    let mut removed = 0;
    for (object, id) in batch {
        // A key that names no file was not written by us: leave it alone.
        let Some(id) = id else { continue };
        if live.contains(&id) {
            continue;
        }
        app.storage.delete(&object.key).await?;
        tracing::info!(key = %object.key, "removed an orphaned stored object");
        removed += 1;
    }
    Ok(removed)
}

#[async_trait::async_trait]
impl ScheduledTask for SweepOrphanedFiles {
    fn name(&self) -> &'static str {
        "sweep_orphaned_files"
    }

    fn schedule(&self, config: &Config) -> String {
        config.jobs.file_sweep_schedule.clone()
    }

    async fn run(&self, app: &AppState) -> anyhow::Result<()> {
        let removed = sweep_orphans(app).await?;
        if removed > 0 {
            tracing::info!(removed, "orphan sweep done");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::id_of;

    #[test]
    fn keys_name_their_file() {
        let id = entity::FileId::new();
        assert_eq!(id_of(&format!("files/{id}")), Some(id));
        assert_eq!(id_of(&format!("thumbs/{id}")), Some(id));
        assert_eq!(id_of("files/readme.txt"), None);
    }
}
