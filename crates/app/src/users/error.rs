use crate::http::error::ApiError;
use crate::platform::error::{ErrorCode, InvalidInput};
use crate::platform::rate_limit::Budget;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("email already in use")]
    EmailTaken,
    #[error("the current password is required to change the email")]
    PasswordRequired,
    #[error("wrong password")]
    InvalidCredentials,
    #[error("too many password checks for this account")]
    RateLimited(Budget),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
}

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::NotFound => ApiError::not_found(),
            UserError::EmailTaken => ApiError::new(
                ErrorCode::EmailTaken,
                "This email address is already in use",
            ),
            UserError::PasswordRequired => {
                ApiError::field("currentPassword", "is required to change the email")
            }
            UserError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "Invalid email or password")
            }
            UserError::RateLimited(budget) => {
                ApiError::rate_limited(budget, "Too many requests for this account")
            }
            UserError::Internal(err) => ApiError::internal(err),
            UserError::InvalidInput(err) => err.into(),
            UserError::Db(err) => err.into(),
        }
    }
}
