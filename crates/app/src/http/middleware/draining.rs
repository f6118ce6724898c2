//! While the process drains (SIGTERM, `SHUTDOWN_GRACE_SECS`), every response closes its
//! connection: a client or load balancer holding keep-alive connections opens new ones, which
//! its health checks already send to the other instances, instead of reusing one that is about
//! to be closed under it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::head_limits;

/// On the API listener, one layer with the head limits ([`head_limits::refusal`]), which it
/// wraps: a refused head closes its connection while draining too.
pub async fn limit_head_and_close_while_draining(
    State(draining): State<Arc<AtomicBool>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = match head_limits::refusal(&request) {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    };
    if draining.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
