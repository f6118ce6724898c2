//! Rate limits, per minute in fixed windows, counted in the shared cache (so with Redis every
//! instance enforces the same budget). Tiers: anonymous requests per client IP, authenticated
//! requests per user (higher), and the auth endpoints per IP (and, in their services, per
//! account). Every `/api` response carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` of its tightest tier; a `429 RATE_LIMITED` carries `Retry-After`.
//! A cache failure lets requests through: availability over strictness.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_ip::ClientIp;
use super::error::{ApiError, ErrorCode};
use crate::app::AppState;
use crate::auth::extract::bearer_token;

const WINDOW_SECS: u64 = 60;

/// The outcome of counting one request against one budget.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: u64,
    pub exceeded: bool,
}

/// Counts one request for `tier`/`id` against `limit` per minute. `None` when the cache
/// could not count.
pub async fn hit(app: &AppState, tier: &str, id: &str, limit: u64) -> Option<Budget> {
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let window = now / WINDOW_SECS;
    let reset_secs = WINDOW_SECS - now % WINDOW_SECS;
    let key = format!("rl:{tier}:{id}:{window}");
    let count = app
        .cache
        .increment(&key, Duration::from_secs(WINDOW_SECS + 1))
        .await?;
    Some(Budget {
        limit,
        remaining: limit.saturating_sub(count),
        reset_secs,
        exceeded: count > limit,
    })
}

/// The `429` for an exceeded budget.
pub fn too_many(budget: Budget) -> Response {
    let mut response = ApiError::new(ErrorCode::RateLimited, "Too many requests; slow down")
        .with_retry_after(budget.reset_secs)
        .into_response();
    set_headers(response.headers_mut(), budget);
    response
}

fn set_headers(headers: &mut HeaderMap, budget: Budget) {
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
    mut request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let limits = &app.config.rate_limits;
    let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let mut budgets = Vec::with_capacity(2);
    // A valid access token (signature and expiry; the session is the extractor's business)
    // makes the request a user's. The claims are kept for the extractor: verified once.
    let claims = bearer_token(request.headers()).and_then(|token| app.jwt.verify(token));
    let primary = match &claims {
        Some(claims) => hit(&app, "user", &claims.sub.to_string(), limits.user_per_min).await,
        None => hit(&app, "anon", &ip, limits.anon_per_min).await,
    };
    if let Some(claims) = claims {
        request.extensions_mut().insert(claims);
    }
    budgets.extend(primary);
    if is_auth_endpoint(request.method(), request.uri().path()) {
        budgets.extend(hit(&app, "auth-ip", &ip, limits.auth_per_min).await);
    }
    if let Some(exceeded) = budgets.iter().find(|b| b.exceeded) {
        return too_many(*exceeded);
    }
    let tightest = budgets.into_iter().min_by_key(|b| b.remaining);
    let mut response = next.run(request).await;
    if let Some(budget) = tightest {
        set_headers(response.headers_mut(), budget);
    }
    response
}
