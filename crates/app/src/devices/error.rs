use crate::http::error::ApiError;
use crate::platform::error::InvalidInput;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device not found")]
    NotFound,
    /// The session ended while the device was being registered.
    #[error("the session has ended")]
    SessionEnded,
    #[error("Web Push is not configured")]
    WebPushNotConfigured,
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<DeviceError> for ApiError {
    fn from(err: DeviceError) -> Self {
        match err {
            DeviceError::NotFound => ApiError::not_found(),
            DeviceError::SessionEnded => ApiError::unauthorized(),
            DeviceError::WebPushNotConfigured => {
                ApiError::not_found().with_message("Web Push is not configured on this server")
            }
            DeviceError::InvalidInput(err) => err.into(),
            DeviceError::Db(err) => err.into(),
        }
    }
}
