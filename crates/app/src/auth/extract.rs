//! `AuthUser` and `AdminUser`: the extractors that guard authenticated routes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use entity::{SessionId, UserId};

use super::identify::Caller;
use super::session_state;
use crate::http::bearer::bearer_token;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::users::Role;

/// The caller, authenticated by a valid access token whose session is still live.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Live(user)) => return Ok(*user),
            Some(Caller::Dead) => return Err(ApiError::unauthorized()),
            Some(Caller::Unavailable) => {
                return Err(ApiError::unavailable(anyhow::anyhow!(
                    "the session could not be looked up: the database is unreachable"
                )));
            }
            None => {}
        }
        // Not resolved by `identify` (a route outside /api, or the database failed then).
        let claims = bearer_token(&parts.headers)
            .and_then(|token| app.jwt.verify(token))
            .ok_or_else(ApiError::unauthorized)?;
        let live = session_state::lookup(app, claims.sid, claims.sub)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Self {
            user_id: claims.sub,
            session_id: claims.sid,
            role: live.role,
        })
    }
}

/// An authenticated administrator; anyone else gets `403`.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, app).await?;
        if user.role != Role::Admin {
            return Err(ApiError::forbidden());
        }
        Ok(Self(user))
    }
}

impl FromRequestParts<AppState> for super::service::ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let crate::http::client_ip::ClientIp(ip) =
            crate::http::client_ip::ClientIp::from_request_parts(parts, app).await?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        })
    }
}
