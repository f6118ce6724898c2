//! The HTTP tiers of the rate limits: anonymous requests per client IP, requests of a live
//! session per user (higher), and the auth endpoints per IP. Every `/api` response carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` of its tightest tier, or of the
//! budget that refused it; a `429 RATE_LIMITED` carries `Retry-After`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

pub async fn rate_limit(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let limits = &app.config.rate_limits;
    let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let mut budgets = Vec::with_capacity(2);
    let primary = match request.extensions().get::<UserBudget>() {
        Some(UserBudget(user)) => hit(&app, "user", &user.to_string(), limits.user_per_min).await,
        None => hit(&app, "anon", &ip, limits.anon_per_min).await,
    };
    budgets.extend(primary);
    if is_auth_endpoint(request.method(), request.uri().path()) {
        budgets.extend(hit(&app, "auth-ip", &ip, limits.auth_per_min).await);
    }
    if let Some(exceeded) = budgets.iter().find(|b| b.exceeded()) {
        return ApiError::rate_limited(*exceeded, "Too many requests; slow down").into_response();
    }
    let tightest = budgets.into_iter().min_by_key(|b| b.remaining);
    let mut response = next.run(request).await;
    // A budget of the handler's own (per account) that refused the request has set its
    // headers already: those describe the limit that was hit.
    if let Some(budget) = tightest
        && !response.headers().contains_key("ratelimit-limit")
    {
        set_headers(response.headers_mut(), budget);
    }
    response
}
