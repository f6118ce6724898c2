use crate::http::error::ApiError;
use crate::platform::error::{ErrorCode, FieldError, InvalidInput};

#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("item not found")]
    NotFound,
    #[error("the item changed since the given ETag")]
    PreconditionFailed,
    #[error("item quota exceeded")]
    QuotaExceeded { limit: u64 },
    #[error("data too large")]
    DataTooLarge { path: String },
    #[error("data nested too deeply")]
    DataTooDeep { path: String },
    #[error("invalid data: {message}")]
    InvalidData { path: String, message: &'static str },
    #[error("invalid operation: {message}")]
    InvalidOperation { path: String, message: &'static str },
    #[error("sync cursor expired")]
    SyncExpired,
    #[error("invalid cursor")]
    InvalidCursor { path: &'static str },
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// An operation of an atomic batch failed, so the whole batch did.
    #[error("batch operation {index} failed: {source}")]
    InBatch {
        index: usize,
        source: Box<ItemError>,
    },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<ItemError> for ApiError {
    fn from(err: ItemError) -> Self {
        match err {
            ItemError::NotFound => ApiError::not_found(),
            ItemError::PreconditionFailed => ApiError::new(
                ErrorCode::PreconditionFailed,
                "The item was changed by someone else: fetch it and try again",
            ),
            ItemError::QuotaExceeded { limit } => ApiError::new(
                ErrorCode::QuotaExceeded,
                format!("You can keep at most {limit} items"),
            ),
            ItemError::DataTooLarge { path } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("{path} must be at most 64 KiB when serialised"),
            ),
            ItemError::DataTooDeep { path } => {
                ApiError::field(path, "must not be nested more than 32 levels deep")
            }
            ItemError::InvalidOperation { path, message }
            | ItemError::InvalidData { path, message } => ApiError::field(path, message),
            ItemError::SyncExpired => ApiError::new(
                ErrorCode::SyncExpired,
                "This sync cursor is too old: do a full sync (without `since`)",
            ),
            ItemError::InvalidCursor { path } => ApiError::field(path, "invalid cursor"),
            ItemError::InvalidInput(err) => err.into(),
            ItemError::InBatch { index, source } => {
                // The failing operation's own error, with its index in `details`.
                let mut error = ApiError::from(*source);
                let mut details = error.details.take().unwrap_or_default();
                if details.is_empty() {
                    details.push(FieldError::new(
                        format!("operations[{index}]"),
                        error.message.to_string(),
                    ));
                }
                error.details = Some(details);
                error
            }
            ItemError::Db(err) => err.into(),
        }
    }
}
