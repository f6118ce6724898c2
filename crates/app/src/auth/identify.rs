//! Resolves the caller of an `/api` request once, before the rate limiter: a valid access
//! token whose session is live makes it a user's request (counted in the user's budget);
//! anything else stays anonymous. The result is handed to the `AuthUser` extractor so the
//! token and the session are checked once per request.

use axum::extract::Request;

use super::extract::AuthUser;
use super::session_state;
use crate::http::bearer::bearer_token;
use crate::platform::rate_limit::UserBudget;
use crate::state::AppState;

/// What [`identify`] found out about the request's access token.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    Live(AuthUser),
    /// A valid signature on a session that is revoked, expired or gone.
    Dead,
    /// The database could not be reached to look the session up. The extractor answers 503 at
    /// once instead of waiting for the pool a second time.
    Unavailable,
}

/// Resolves the caller of an `/api` request into its extensions ([`Caller`], and the
/// [`UserBudget`] of a live session). Called by the API gate, before the rate limiter.
pub async fn identify(app: &AppState, request: &mut Request) {
    let Some(claims) = bearer_token(request.headers()).and_then(|t| app.jwt.verify(t)) else {
        return;
    };
    // Another database error leaves the request unresolved: the extractor asks again.
    match session_state::lookup(app, claims.sid, claims.sub).await {
        Ok(Some(live)) => {
            let user = AuthUser {
                user_id: claims.sub,
                session_id: claims.sid,
                role: live.role,
            };
            request.extensions_mut().insert(UserBudget(user.user_id));
            request.extensions_mut().insert(Caller::Live(user));
        }
        Ok(None) => {
            request.extensions_mut().insert(Caller::Dead);
        }
        Err(err) if crate::platform::db::is_unavailable(&err) => {
            request.extensions_mut().insert(Caller::Unavailable);
        }
        Err(err) => tracing::debug!(error = %err, "session lookup failed; resolved later"),
    }
}
