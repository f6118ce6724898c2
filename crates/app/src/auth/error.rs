use crate::http::error::ApiError;
use crate::platform::error::ErrorCode;
use crate::platform::rate_limit::Budget;
use crate::users::UserError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    AccountLocked { retry_after_secs: u64 },
    #[error("too many requests for this account")]
    RateLimited(Budget),
    #[error("refresh token reused")]
    TokenReused,
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    #[error("invalid, used or expired token")]
    InvalidToken,
    #[error("password refused: {0}")]
    WeakPassword(&'static str, &'static str),
    #[error("session not found")]
    SessionNotFound,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "Invalid email or password")
            }
            AuthError::AccountLocked { retry_after_secs } => ApiError::new(
                ErrorCode::AccountLocked,
                "Too many failed logins; try again later or reset your password",
            )
            .with_retry_after(retry_after_secs),
            AuthError::RateLimited(budget) => {
                ApiError::rate_limited(budget, "Too many requests for this account")
            }
            AuthError::TokenReused => ApiError::new(
                ErrorCode::TokenReused,
                "This refresh token was already used; the session has been ended",
            ),
            AuthError::InvalidRefreshToken => {
                ApiError::new(ErrorCode::Unauthorized, "Invalid or expired refresh token")
            }
            AuthError::InvalidToken => {
                ApiError::new(ErrorCode::InvalidToken, "Invalid, used or expired token")
            }
            AuthError::WeakPassword(path, message) => ApiError::field(path, message),
            AuthError::SessionNotFound => ApiError::not_found(),
            AuthError::User(err) => err.into(),
            AuthError::Db(err) => err.into(),
            AuthError::Internal(err) => ApiError::internal(err),
        }
    }
}
