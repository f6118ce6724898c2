use crate::http::error::ApiError;
use crate::platform::error::InvalidInput;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("notification not found")]
    NotFound,
    /// `POST /api/notifications` for an account that does not exist.
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<NotificationError> for ApiError {
    fn from(err: NotificationError) -> Self {
        match err {
            NotificationError::NotFound => ApiError::not_found(),
            NotificationError::UserNotFound => {
                ApiError::not_found().with_message("No user has this id")
            }
            NotificationError::InvalidInput(err) => err.into(),
            NotificationError::Db(err) => err.into(),
        }
    }
}
