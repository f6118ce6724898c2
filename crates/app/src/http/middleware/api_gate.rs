//! The gate of every `/api` request, in one layer: who is calling ([`identify`], once per
//! request), their rate limits ([`rate_limit::admit`]), then the client's version
//! ([`app_version::refusal`]). One `from_fn` layer instead of three: each layer boxes its future
//! and clones the service stack below it on every request.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{app_version, rate_limit};
use crate::auth::identify::identify;
use crate::http::client_ip::ClientIp;
use crate::state::AppState;

pub async fn api_gate(
    State(app): State<AppState>,
    client_ip: ClientIp,
    mut request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    identify(&app, &mut request).await;
    let budget = match rate_limit::admit(&app, client_ip, &request).await {
        Ok(budget) => budget,
        Err(refused) => return refused.into_response(),
    };
    if let Some(refused) =
        app_version::refusal(app.config.min_app_version.as_ref(), request.headers())
    {
        // Counted, as before: an outdated client's requests still spend its budget.
        let mut response = refused.into_response();
        rate_limit::set_budget_headers(&mut response, budget);
        return response;
    }
    let mut response = next.run(request).await;
    rate_limit::set_budget_headers(&mut response, budget);
    response
}
