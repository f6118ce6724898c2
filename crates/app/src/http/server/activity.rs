//! What one connection is doing, as far as its timers care: waiting for a request head, busy
//! with requests, or idle between them. hyper's own `header_read_timeout` restarts whenever a
//! keep-alive connection goes idle, so it cannot tell a slow head from an idle connection; these
//! three states can.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head to be complete, since this instant: the connection was just
    /// accepted, or the first bytes of the next head arrived.
    Head(Instant),
    /// This many requests have a complete head and a response not yet written out.
    Busy(usize),
    /// Keep-alive between requests, since this instant.
    Idle(Instant),
}

/// Why a connection's timer ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No complete head within the header timeout: close at once.
    Head,
    /// Nothing in flight for the idle timeout: close gracefully.
    Idle,
}

pub struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the connection's watchdog when a deadline appears or moves earlier.
    changed: Notify,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        })
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The guarded value is a plain enum that every writer leaves consistent.
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next deadline and what happens at it; `None` while requests are in flight. Once a
    /// graceful close has been asked for, an idle connection needs no further deadline.
    pub fn next_expiry(
        &self,
        header_timeout: Duration,
        idle_timeout: Duration,
        closing: bool,
    ) -> Option<(Instant, Expiry)> {
        match *self.phase() {
            Phase::Head(since) => Some((since + header_timeout, Expiry::Head)),
            Phase::Idle(since) if !closing => Some((since + idle_timeout, Expiry::Idle)),
            Phase::Idle(_) | Phase::Busy(_) => None,
        }
    }

    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Called when hyper hands a complete head to the service; the request counts as in flight
    /// until the returned guard (carried by the response body) is dropped.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
        InFlight(Arc::clone(self))
    }

    fn request_finished(&self) {
        let mut phase = self.phase();
        match *phase {
            Phase::Busy(n) if n > 1 => *phase = Phase::Busy(n - 1),
            _ => {
                *phase = Phase::Idle(Instant::now());
                drop(phase);
                self.changed.notify_one();
            }
        }
    }
}

/// One request in flight; dropped when its response body is done (or abandoned).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The response body, holding its request's [`InFlight`] until hyper has written it out, so a
/// slowly streamed response never counts as idle.
pub struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn new(body: Body, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noticing the first bytes of a new request head on an idle connection.
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.bytes_arrived();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(75);

    fn expiry(activity: &Activity, closing: bool) -> Option<Expiry> {
        activity
            .next_expiry(HEADER, IDLE, closing)
            .map(|(_, what)| what)
    }

    #[test]
    fn a_connection_moves_from_head_to_busy_to_idle_and_back() {
        let activity = Activity::new();
        assert_eq!(expiry(&activity, false), Some(Expiry::Head));
        activity.bytes_arrived();
        assert_eq!(
            expiry(&activity, false),
            Some(Expiry::Head),
            "still the same head"
        );

        let first = activity.request_started();
        assert_eq!(
            expiry(&activity, false),
            None,
            "no timer while a request runs"
        );
        activity.bytes_arrived();
        assert_eq!(
            expiry(&activity, false),
            None,
            "a request body is not a new head"
        );
        let second = activity.request_started();
        drop(first);
        assert_eq!(expiry(&activity, false), None, "one still in flight");
        drop(second);
        assert_eq!(expiry(&activity, false), Some(Expiry::Idle));
        assert_eq!(
            expiry(&activity, true),
            None,
            "a graceful close is under way"
        );

        activity.bytes_arrived();
        assert_eq!(expiry(&activity, false), Some(Expiry::Head));
    }
}
