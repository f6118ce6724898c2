use crate::platform::error::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("email already in use")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::NotFound => ApiError::not_found(),
            UserError::EmailTaken => ApiError::new(
                ErrorCode::EmailTaken,
                "This email address is already in use",
            ),
            UserError::Db(err) => err.into(),
        }
    }
}
