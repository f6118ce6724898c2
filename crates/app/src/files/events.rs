//! The events the files feature raises.

use entity::FileId;
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;

/// An upload was committed: process it (`{fileId, path}` in the contract's events table;
/// `path` is the storage key, which never derives from the client's filename).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUploaded {
    pub file_id: FileId,
    pub path: String,
}

impl Event for FileUploaded {
    const NAME: &'static str = "file:uploaded";
}

/// A file's row is gone (deleted, or its account was): remove its stored objects. Carries the
/// keys because the row that named them no longer exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDeleted {
    pub file_id: FileId,
    pub keys: Vec<String>,
}

impl Event for FileDeleted {
    const NAME: &'static str = "file:deleted";
}
