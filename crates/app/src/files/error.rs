use crate::http::error::ApiError;
use crate::platform::error::{ErrorCode, InvalidInput};
use crate::platform::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("file not found")]
    NotFound,
    /// The body is not `multipart/form-data` (or has no boundary).
    #[error("not a multipart/form-data body")]
    NotMultipart,
    #[error("invalid multipart body: {0}")]
    BadMultipart(String),
    #[error("no part named file")]
    NoFilePart,
    #[error("more than one file part")]
    SeveralFileParts,
    #[error("unexpected part {0:?}")]
    UnexpectedPart(String),
    #[error("file over {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("file type {content_type} not allowed")]
    TypeNotAllowed { content_type: String },
    #[error("storage quota of {limit} bytes exceeded")]
    QuotaExceeded { limit: u64 },
    /// A signed link that was tampered with or has expired.
    #[error("bad or expired signed link")]
    BadLink,
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<FileError> for ApiError {
    fn from(err: FileError) -> Self {
        match err {
            FileError::NotFound => ApiError::not_found(),
            FileError::NotMultipart => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the file as multipart/form-data, in one part named \"file\"",
            ),
            FileError::BadMultipart(reason) => {
                ApiError::field("file", format!("malformed multipart body: {reason}"))
            }
            FileError::NoFilePart => {
                ApiError::field("file", "is required: one part named \"file\"")
            }
            FileError::SeveralFileParts => ApiError::field("file", "send exactly one file part"),
            FileError::UnexpectedPart(name) => {
                ApiError::field(name, "unexpected part: only \"file\" is accepted")
            }
            FileError::TooLarge { limit } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The file is larger than the limit of {limit} bytes"),
            ),
            FileError::TypeNotAllowed { content_type } => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Files of type {content_type} are not accepted"),
            ),
            FileError::QuotaExceeded { limit } => ApiError::new(
                ErrorCode::QuotaExceeded,
                format!("Your files may take at most {limit} bytes: delete some first"),
            ),
            FileError::BadLink => ApiError::new(
                ErrorCode::Forbidden,
                "This link is invalid or has expired: ask for a new one",
            ),
            FileError::RangeNotSatisfiable { .. } => ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                "The requested range is outside the file",
            ),
            FileError::InvalidInput(err) => err.into(),
            // The row went away between our read and the store's (a concurrent delete).
            FileError::Storage(StorageError::NotFound) => ApiError::not_found(),
            FileError::Storage(err) => ApiError::unavailable(err),
            FileError::Db(err) => err.into(),
        }
    }
}
