use crate::http::error::ApiError;
use crate::platform::error::{ErrorCode, InvalidInput};

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("job not found")]
    NotFound,
    #[error("{0}")]
    InvalidState(&'static str),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<JobsError> for ApiError {
    fn from(err: JobsError) -> Self {
        match err {
            JobsError::NotFound => ApiError::not_found(),
            JobsError::InvalidState(message) => ApiError::new(ErrorCode::InvalidState, message),
            JobsError::InvalidInput(err) => err.into(),
            JobsError::Db(err) => ApiError::from(sea_orm::DbErr::Query(
                sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)),
            )),
        }
    }
}
