//! The accept loop. `axum::serve` gives hyper no timer and no limits, so a client that never
//! finishes its request head, or idles on a keep-alive connection, holds the connection forever.
//! Here every connection has a header timeout and an idle timeout (see [`activity`]), and the
//! number of open connections is capped: at the cap the loop stops accepting, and new clients
//! wait in the kernel's backlog until a connection closes.

mod activity;

use std::borrow::Borrow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use self::activity::{Activity, Expiry, TrackedBody, TrackedIo};
use crate::http::middleware::head_limits;
use crate::platform::config::ConnectionConfig;

/// How often, at most, reaching `MAX_CONNECTIONS` is logged while it lasts.
const CAP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` until `stop` is cancelled. Then it stops accepting, asks every
/// connection to close once its in-flight requests are answered, waits for that up to `grace`,
/// and closes whatever is left. A borrowed listener stays open for the caller (start-up serves
/// the probes on the API's own listener before the API is ready); an owned one is closed.
pub async fn serve(
    listener: impl Borrow<TcpListener>,
    router: Router,
    limits: ConnectionConfig,
    stop: CancellationToken,
    grace: Duration,
) {
    let builder = Arc::new(builder());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let abort = CancellationToken::new();
    let mut cap_logged: Option<Instant> = None;
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if cap_logged.is_none_or(|at| at.elapsed() >= CAP_LOG_INTERVAL) {
                    cap_logged = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "MAX_CONNECTIONS reached: new connections wait until one closes"
                    );
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_closed) => break,
                    },
                }
            }
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.borrow().accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let connection = Connection {
                    builder: Arc::clone(&builder),
                    router: router.clone(),
                    limits,
                    stop: stop.clone(),
                    abort: abort.clone(),
                    _permit: permit,
                };
                connections.spawn(connection.serve(stream, remote));
            }
            Err(err) if is_connection_error(&err) => {}
            Err(err) => {
                // Out of file descriptors, typically: retrying at once would spin.
                tracing::error!(error = %err, "accepting a connection failed; retrying in 1 s");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    // Refuse new connections from now on, as the orchestrator expects after SIGTERM.
    drop(listener);
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_secs = grace.as_secs(),
            "in-flight requests still running at SHUTDOWN_TIMEOUT_SECS; closing them"
        );
        abort.cancel();
        connections.wait().await;
    }
}

fn builder() -> auto::Builder<TokioExecutor> {
    // HTTP/1 only: hyper's HTTP/2 is compiled in for the push clients (APNs), and the
    // per-connection watchdog below understands HTTP/1 connections only.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        // Replaced by the per-connection watchdog, which tells a slow head from an idle
        // keep-alive connection.
        .header_read_timeout(None)
        .max_headers(head_limits::HARD_MAX_HEADERS)
        .max_buf_size(head_limits::HARD_MAX_HEAD_BYTES);
    builder
}

/// Errors about one connection that the accept loop can ignore.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    limits: ConnectionConfig,
    /// The server is stopping: close once in-flight requests are answered.
    stop: CancellationToken,
    /// The shutdown grace period is over: close now.
    abort: CancellationToken,
    /// Frees a place under `MAX_CONNECTIONS` when the connection ends.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream, remote: SocketAddr) {
        let activity = Activity::new();
        let io = TokioIo::new(TrackedIo::new(stream, Arc::clone(&activity)));
        let service = AppService {
            router: self.router.clone(),
            remote,
            activity: Arc::clone(&activity),
        };
        let mut conn = pin!(self.builder.serve_connection(io, service));
        let ConnectionConfig {
            header_timeout,
            idle_timeout,
            ..
        } = self.limits;
        let mut closing = false;
        loop {
            let expiry = activity.next_expiry(header_timeout, idle_timeout, closing);
            let deadline = match expiry {
                Some((at, Expiry::Head)) if at <= Instant::now() => {
                    tracing::debug!("closing a connection: no complete request head in time");
                    return;
                }
                Some((at, Expiry::Idle)) if at <= Instant::now() => {
                    tracing::debug!("closing an idle keep-alive connection");
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                    continue;
                }
                Some((at, _)) => Some(at),
                None => None,
            };
            let sleep = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                    return;
                }
                () = self.stop.cancelled(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = self.abort.cancelled() => return,
                () = activity.changed() => {}
                () = sleep => {}
            }
        }
    }
}

/// The router, as hyper calls it for each request of one connection.
#[derive(Clone)]
struct AppService {
    router: Router,
    remote: SocketAddr,
    activity: Arc<Activity>,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for AppService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        // What `into_make_service_with_connect_info` provided: the `ClientIp` extractor reads it.
        request.extensions_mut().insert(ConnectInfo(self.remote));
        let in_flight = self.activity.request_started();
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody::new(body, in_flight)))
        })
    }
}
