//! A load client that records every request and its outcome: status, `Retry-After`, whether it
//! was an idempotent replay, or the transport failure (timeout, reset, refused), with its
//! latency and the `Idempotency-Key` it used. Plain blocking sockets on threads: one connection
//! per request, so a reset or a refused connection belongs to exactly one request.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How one request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// No complete answer within the client's timeout.
    Timeout,
    /// The connection was reset or closed before a complete answer.
    Reset,
    /// Nobody listened on the port.
    Refused,
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub path: String,
    pub sent_at: Instant,
    pub latency: Duration,
    pub outcome: Outcome,
    pub retry_after: Option<String>,
    pub replayed: bool,
    pub body: String,
}

impl Exchange {
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Status(status) => Some(status),
            _ => None,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    /// A 4xx other than `409 IDEMPOTENCY_IN_PROGRESS`: the request was refused for good.
    pub fn refused(&self) -> bool {
        self.status()
            .is_some_and(|s| (400..500).contains(&s) && s != 409)
    }

    /// Neither a success nor a refusal: the write may or may not have happened.
    pub fn ambiguous(&self) -> bool {
        !self.succeeded() && !self.refused()
    }

    pub fn ended_at(&self) -> Instant {
        self.sent_at + self.latency
    }
}

/// The client's deadline for one answer: longer than the chaos servers' `REQUEST_TIMEOUT_SECS`
/// (10 s), so that a hung request shows as the server's `504`, not as a client timeout.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 request on a fresh connection.
pub fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Exchange {
    let sent_at = Instant::now();
    let (outcome, head, text) = exchange(port, method, path, headers, body);
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    Exchange {
        path: path.to_owned(),
        sent_at,
        latency: sent_at.elapsed(),
        retry_after: header("retry-after"),
        replayed: header("idempotent-replayed").as_deref() == Some("true"),
        outcome,
        body: text,
    }
}

fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (Outcome, String, String) {
    let failed = |outcome| (outcome, String::new(), String::new());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = match TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT) {
        Ok(stream) => stream,
        Err(err) if err.kind() == ErrorKind::ConnectionRefused => return failed(Outcome::Refused),
        Err(err) => return failed(transport_failure(&err)),
    };
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let body = body.unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: chaos\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    if let Err(err) = stream.write_all(request.as_bytes()) {
        return failed(transport_failure(&err));
    }
    let mut response = Vec::new();
    if let Err(err) = stream.read_to_end(&mut response) {
        return failed(transport_failure(&err));
    }
    let response = String::from_utf8_lossy(&response).into_owned();
    let Some((head, text)) = response.split_once("\r\n\r\n") else {
        return failed(Outcome::Reset);
    };
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    match status {
        Some(status) => (Outcome::Status(status), head.to_owned(), text.to_owned()),
        None => failed(Outcome::Reset),
    }
}

fn transport_failure(err: &std::io::Error) -> Outcome {
    match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Outcome::Timeout,
        ErrorKind::ConnectionRefused => Outcome::Refused,
        _ => Outcome::Reset,
    }
}

/// One create of the writer loop: the key and body it used, and what it got.
#[derive(Clone, Debug)]
pub struct Write {
    pub key: String,
    pub name: String,
    pub exchange: Exchange,
}

impl Write {
    pub fn body(&self) -> String {
        write_body(&self.name)
    }
}

pub fn write_body(name: &str) -> String {
    serde_json::json!({ "name": name, "data": { "chaos": true } }).to_string()
}

/// What the load is made of.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Threads creating items (`POST /api/data` with an `Idempotency-Key`), one after another.
    pub writers: usize,
    /// Threads reading `read_paths` in turn.
    pub readers: usize,
    pub read_paths: Vec<String>,
    /// Pause of each thread between two requests.
    pub pause: Duration,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            writers: 3,
            readers: 2,
            read_paths: vec!["/api/data?limit=5".to_owned(), "/api/users/me".to_owned()],
            pause: Duration::from_millis(20),
        }
    }
}

/// Load running in the background until `finish`.
pub struct Load {
    stop: Arc<AtomicBool>,
    writers: Vec<JoinHandle<Vec<Write>>>,
    readers: Vec<JoinHandle<Vec<Exchange>>>,
}

/// Everything the load sent.
pub struct Record {
    pub writes: Vec<Write>,
    pub reads: Vec<Exchange>,
}

impl Load {
    /// Starts the threads; every request carries `token`. Item names start with `tag`.
    pub fn start(port: u16, token: &str, tag: &str, shape: &Shape) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let bearer = format!("Bearer {token}");
        let writers = (0..shape.writers)
            .map(|writer| {
                let (stop, bearer, pause) = (stop.clone(), bearer.clone(), shape.pause);
                let prefix = format!("{tag}-w{writer}");
                std::thread::spawn(move || write_loop(port, &bearer, &prefix, pause, &stop))
            })
            .collect();
        let readers = (0..shape.readers)
            .map(|reader| {
                let (stop, bearer, pause) = (stop.clone(), bearer.clone(), shape.pause);
                let mut paths = shape.read_paths.clone();
                let turn = reader % paths.len().max(1);
                paths.rotate_left(turn);
                std::thread::spawn(move || read_loop(port, &bearer, &paths, pause, &stop))
            })
            .collect();
        Self {
            stop,
            writers,
            readers,
        }
    }

    /// Stops the threads after their current request and returns what they recorded.
    pub fn finish(self) -> Record {
        self.stop.store(true, Ordering::SeqCst);
        let writes = self
            .writers
            .into_iter()
            .flat_map(|t| t.join().expect("a writer thread"))
            .collect();
        let reads = self
            .readers
            .into_iter()
            .flat_map(|t| t.join().expect("a reader thread"))
            .collect();
        Record { writes, reads }
    }
}

fn write_loop(
    port: u16,
    bearer: &str,
    prefix: &str,
    pause: Duration,
    stop: &AtomicBool,
) -> Vec<Write> {
    let mut writes = Vec::new();
    let mut seq = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("{prefix}-{seq}");
        let key = uuid::Uuid::new_v4().to_string();
        let headers = [("Authorization", bearer), ("Idempotency-Key", key.as_str())];
        let exchange = send(
            port,
            "POST",
            "/api/data",
            &headers,
            Some(&write_body(&name)),
        );
        writes.push(Write {
            key,
            name,
            exchange,
        });
        seq += 1;
        std::thread::sleep(pause);
    }
    writes
}

fn read_loop(
    port: u16,
    bearer: &str,
    paths: &[String],
    pause: Duration,
    stop: &AtomicBool,
) -> Vec<Exchange> {
    let mut reads = Vec::new();
    for path in paths.iter().cycle() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        reads.push(send(port, "GET", path, &[("Authorization", bearer)], None));
        std::thread::sleep(pause);
    }
    reads
}

/// Counts of one set of exchanges, as `docs/reliability.md` reports them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub ok: usize,
    pub client_errors: usize,
    pub unavailable: usize,
    /// 503s without a `Retry-After`.
    pub unavailable_without_retry_after: usize,
    pub timeouts_504: usize,
    /// 5xx other than 503 and 504: a bug, always.
    pub other_server_errors: usize,
    pub transport_failures: usize,
    pub max_latency: Duration,
    pub max_failure_latency: Duration,
}

impl Summary {
    pub fn of<'a>(exchanges: impl IntoIterator<Item = &'a Exchange>) -> Self {
        let mut summary = Self::default();
        for exchange in exchanges {
            summary.total += 1;
            summary.max_latency = summary.max_latency.max(exchange.latency);
            if !exchange.succeeded() {
                summary.max_failure_latency = summary.max_failure_latency.max(exchange.latency);
            }
            match exchange.status() {
                Some(200..=299) => summary.ok += 1,
                Some(400..=499) => summary.client_errors += 1,
                Some(503) => {
                    summary.unavailable += 1;
                    if exchange.retry_after.is_none() {
                        summary.unavailable_without_retry_after += 1;
                    }
                }
                Some(504) => summary.timeouts_504 += 1,
                Some(_) => summary.other_server_errors += 1,
                None => summary.transport_failures += 1,
            }
        }
        summary
    }

    /// The exchanges sent in `[from, to)`.
    pub fn between<'a>(
        exchanges: impl IntoIterator<Item = &'a Exchange>,
        from: Instant,
        to: Instant,
    ) -> Self {
        Self::of(
            exchanges
                .into_iter()
                .filter(|e| e.sent_at >= from && e.sent_at < to),
        )
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests: {} 2xx, {} 4xx, {} 503 ({} without Retry-After), {} 504, {} other 5xx, \
             {} transport failures; max latency {} ms (of a failure {} ms)",
            self.total,
            self.ok,
            self.client_errors,
            self.unavailable,
            self.unavailable_without_retry_after,
            self.timeouts_504,
            self.other_server_errors,
            self.transport_failures,
            self.max_latency.as_millis(),
            self.max_failure_latency.as_millis()
        )
    }
}

/// Examples of the first few exchanges matching `which`, for assertion messages.
pub fn examples<'a>(
    exchanges: impl IntoIterator<Item = &'a Exchange>,
    which: impl Fn(&Exchange) -> bool,
) -> String {
    exchanges
        .into_iter()
        .filter(|e| which(e))
        .take(3)
        .map(|e| {
            format!(
                "{} {:?} {}",
                e.path,
                e.outcome,
                e.body.chars().take(300).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
