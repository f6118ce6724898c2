//! Raw TCP clients for what an HTTP library will not send: slow, partial or oversized heads,
//! and connections that stay idle.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// What the server did with a connection while we waited.
#[derive(Debug)]
pub struct Outcome {
    /// The server closed the connection (EOF or reset) within the wait.
    pub closed: bool,
    /// Everything it sent before that.
    pub received: String,
}

impl Outcome {
    pub fn status_line(&self) -> &str {
        self.received.lines().next().unwrap_or_default()
    }
}

/// Reads until the server closes the connection or `within` passes.
pub async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Outcome {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + within;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    };
    Outcome {
        closed,
        received: String::from_utf8_lossy(&received).into_owned(),
    }
}

/// True when the server has neither sent anything nor closed the connection for `quiet`.
pub async fn still_open(stream: &mut TcpStream, quiet: Duration) -> bool {
    let mut buf = [0u8; 1];
    tokio::time::timeout(quiet, stream.read(&mut buf))
        .await
        .is_err()
}

/// Sends a request and reads exactly one response (head and `Content-Length` body), leaving
/// the connection open for the next one. Returns the head and the body.
pub async fn exchange(stream: &mut TcpStream, request: &str) -> (String, String) {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let head_end = received.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(end) = head_end {
                let head = String::from_utf8_lossy(&received[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&received[end + 4..end + 4 + length]);
                    return (head, body.into_owned());
                }
            }
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "connection closed before a whole response");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a response within 10 s")
}
