//! The HTTP tiers of the rate limits: anonymous requests per client IP, requests of a live
//! session per user (higher), and the auth endpoints per IP. Every `/api` response carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` of its tightest tier, or of the
//! budget that refused it; a `429 RATE_LIMITED` carries `Retry-After`.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;

use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::platform::rate_limit::{Budget, UserBudget, hit};
use crate::state::AppState;

pub fn set_headers(headers: &mut HeaderMap, budget: Budget) {
    headers.insert("ratelimit-limit", HeaderValue::from(budget.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(budget.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(budget.reset_secs));
}

fn is_auth_endpoint(method: &Method, path: &str) -> bool {
    method == Method::POST
        && matches!(
            path,
            "/api/auth/login"
                | "/api/auth/register"
                | "/api/auth/reset-password"
                | "/api/auth/reset-password/confirm"
                | "/api/auth/verify-email"
        )
}

/// Counts an `/api` request against its budgets: the user's (when [`identify`] found a live
/// session) or its IP's, and the auth endpoints' per IP. `Err` is the `429` of a budget it is
/// over; `Ok` is the tightest budget, for [`set_budget_headers`]. Called by [`super::api_gate`].
///
/// [`identify`]: crate::auth::identify
pub fn admit<'a>(
    app: &'a AppState,
    ClientIp(ip): ClientIp,
    request: &Request,
) -> impl Future<Output = Result<Option<Budget>, ApiError>> + Send + 'a {
    // Read here, not in the future: a request is not `Sync`, so the future may not borrow it.
    let user = request.extensions().get::<UserBudget>().copied();
    let auth_endpoint = is_auth_endpoint(request.method(), request.uri().path());
    admit_budgets(app, ip, user, auth_endpoint)
}

async fn admit_budgets(
    app: &AppState,
    ip: Option<IpAddr>,
    user: Option<UserBudget>,
    auth_endpoint: bool,
) -> Result<Option<Budget>, ApiError> {
    let limits = &app.config.rate_limits;
    let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let mut budgets = Vec::with_capacity(2);
    let primary = match user {
        Some(UserBudget(user)) => hit(app, "user", &user.to_string(), limits.user_per_min).await,
        None => hit(app, "anon", &ip, limits.anon_per_min).await,
    };
    budgets.extend(primary);
    if auth_endpoint {
        budgets.extend(hit(app, "auth-ip", &ip, limits.auth_per_min).await);
    }
    if let Some(exceeded) = budgets.iter().find(|b| b.exceeded()) {
        return Err(ApiError::rate_limited(
            *exceeded,
            "Too many requests; slow down",
        ));
    }
    Ok(budgets.into_iter().min_by_key(|b| b.remaining))
}

/// Describes `budget` on an admitted request's response.
pub fn set_budget_headers(response: &mut Response, budget: Option<Budget>) {
    // A budget of the handler's own (per account) that refused the request has set its
    // headers already: those describe the limit that was hit.
    if let Some(budget) = budget
        && !response.headers().contains_key("ratelimit-limit")
    {
        set_headers(response.headers_mut(), budget);
    }
}
