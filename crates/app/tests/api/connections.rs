//! Slow and idle clients: the header timeout, the keep-alive idle timeout and the cap on open
//! connections, over raw sockets.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use tokio::io::AsyncWriteExt;

use crate::helpers::TestApp;
use crate::helpers::raw::{self, connect, exchange, read_until_closed, still_open};

const GET_LIVE: &str = "GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n";

/// Header timeout 1 s, idle timeout 3 s: far enough apart to tell which one closed a connection.
async fn spawn_with_short_timeouts() -> TestApp {
    TestApp::builder()
        .env("HTTP_HEADER_TIMEOUT_SECS", "1")
        .env("HTTP_IDLE_TIMEOUT_SECS", "3")
        .spawn()
        .await
}

#[tokio::test]
async fn a_silent_or_partial_request_head_is_closed_after_the_header_timeout() {
    let app = spawn_with_short_timeouts().await;
    let mut silent = connect(app.addr).await;
    let mut partial = connect(app.addr).await;
    partial
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (silent, partial) = tokio::join!(
        read_until_closed(&mut silent, Duration::from_secs(6)),
        read_until_closed(&mut partial, Duration::from_secs(6)),
    );
    assert!(silent.closed, "a connection that sends nothing is closed");
    assert!(
        partial.closed,
        "a connection that never ends its head is closed"
    );
    assert!(!partial.received.contains(" 200 "), "{}", partial.received);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed by the timer, not at once: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_header_line_every_300_ms_is_still_closed_at_the_header_timeout() {
    let app = spawn_with_short_timeouts().await;
    let stream = connect(app.addr).await;
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        writer
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n")
            .await?;
        // 20 lines over 6 s: each arrives well within any per-read timeout.
        for line in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            writer
                .write_all(format!("X-Slow-{line}: still typing\r\n").as_bytes())
                .await?;
        }
        writer.write_all(b"\r\n").await
    });
    let mut buf = Vec::new();
    let started = Instant::now();
    let closed = tokio::time::timeout(
        Duration::from_secs(4),
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut buf),
    )
    .await
    .is_ok();
    assert!(
        closed,
        "still open after {:?} of header lines",
        started.elapsed()
    );
    assert!(!String::from_utf8_lossy(&buf).contains(" 200 "));
    trickle.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_and_closes_after_the_idle_timeout()
 {
    let app = spawn_with_short_timeouts().await;
    let mut stream = connect(app.addr).await;
    let (head, _) = exchange(&mut stream, GET_LIVE).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // Idle for longer than the header timeout: the connection is still there, and usable.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let (head, _) = exchange(&mut stream, GET_LIVE).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        still_open(&mut stream, Duration::from_millis(1500)).await,
        "idle connections are not held to the header timeout"
    );

    let idle = read_until_closed(&mut stream, Duration::from_secs(6)).await;
    assert!(
        idle.closed,
        "an idle connection is closed after the idle timeout"
    );
    assert!(
        idle.received.is_empty(),
        "closed quietly: {}",
        idle.received
    );
}

#[tokio::test]
async fn at_the_connection_cap_a_new_connection_waits_until_one_closes() {
    let app = TestApp::builder()
        .env("MAX_CONNECTIONS", "3")
        .env("HTTP_HEADER_TIMEOUT_SECS", "30")
        .spawn()
        .await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect(app.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The kernel completes the handshake; the server does not accept, so nothing answers.
    let mut waiting = connect(app.addr).await;
    waiting
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let early = read_until_closed(&mut waiting, Duration::from_millis(1500)).await;
    assert!(
        !early.closed && early.received.is_empty(),
        "no answer while at the cap: {early:?}"
    );

    drop(idle.pop());
    let answered = read_until_closed(&mut waiting, Duration::from_secs(10)).await;
    assert!(
        answered.status_line().starts_with("HTTP/1.1 200"),
        "{answered:?}"
    );
}

fn slow_routes() -> axum::Router {
    axum::Router::new()
        .route(
            "/test/slow-handler",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                "finished"
            }),
        )
        .route(
            "/test/slow-body",
            get(|| async {
                let chunks = futures::stream::unfold(0u8, |sent| async move {
                    if sent == 8 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Some((Ok::<_, std::io::Error>(format!("chunk {sent}\n")), sent + 1))
                });
                Body::from_stream(chunks)
            }),
        )
}

#[tokio::test]
async fn a_slow_handler_and_a_slow_response_body_outlive_both_timeouts() {
    let app = TestApp::builder()
        .env("HTTP_HEADER_TIMEOUT_SECS", "1")
        .env("HTTP_IDLE_TIMEOUT_SECS", "2")
        .route(slow_routes())
        .spawn()
        .await;
    let (handler, body) = tokio::join!(
        app.get("/test/slow-handler").send(),
        app.get("/test/slow-body").send(),
    );
    handler.assert_status(200);
    assert_eq!(handler.text, "finished");
    body.assert_status(200);
    assert_eq!(body.text.lines().count(), 8, "{}", body.text);

    // The same over one raw keep-alive connection, whose next request follows the slow one.
    let mut stream = raw::connect(app.addr).await;
    let request = "GET /test/slow-handler HTTP/1.1\r\nHost: test\r\n\r\n";
    let (head, text) = exchange(&mut stream, request).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(text, "finished");
    let (head, _) = exchange(&mut stream, GET_LIVE).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn a_client_opening_with_the_http2_preface_is_not_served_http2() {
    // hyper's HTTP/2 is compiled in for the push clients; the server must still refuse it.
    let app = TestApp::spawn().await;
    let mut stream = connect(app.addr).await;
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
    stream.write_all(&preface).await.unwrap();
    let outcome = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(outcome.closed, "the connection is closed");
    assert!(
        outcome.received.is_empty() || outcome.received.starts_with("HTTP/1.1 "),
        "no HTTP/2 frames in answer: {:?}",
        outcome.received
    );
}
