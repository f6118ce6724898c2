//! While the process drains (SIGTERM, `SHUTDOWN_GRACE_SECS`), every response closes its
//! connection: a client or load balancer holding keep-alive connections opens new ones, which
//! its health checks already send to the other instances, instead of reusing one that is about
//! to be closed under it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub async fn close_while_draining(
    State(draining): State<Arc<AtomicBool>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if draining.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
