//! HTTP load benchmark: `cargo bench -p aios-app --bench http`.
//!
//! Starts the real server in-process (SQLite in a temporary directory, or PostgreSQL/Redis
//! with `BENCH_DATABASE_URL` / `BENCH_REDIS_URL`), or targets a running one with `BENCH_URL`,
//! and drives each scenario with `BENCH_CONCURRENCY` (default 32) clients for `BENCH_SECS`
//! (default 5) seconds. Prints requests per second and latency percentiles. File uploads and
//! downloads are measured in MiB/s, with files of `BENCH_FILE_MIB` (default 8) MiB sent by
//! `BENCH_FILE_CONCURRENCY` (default 4) clients. On one machine the load generator shares the
//! CPU with the server: the figures are a floor.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "benchmark passphrase 2024";

struct Target {
    base: String,
    client: reqwest::Client,
    _server: Option<(tokio::sync::oneshot::Sender<()>, tempfile::TempDir)>,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn start() -> Target {
    aios_app::platform::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    if let Ok(base) = std::env::var("BENCH_URL") {
        return Target {
            base,
            client,
            _server: None,
        };
    }
    let dir = tempfile::tempdir().unwrap();
    let mut vars = vec![
        ("APP_ENV".to_owned(), "test".to_owned()),
        ("HOST".to_owned(), "127.0.0.1".to_owned()),
        ("PORT".to_owned(), "0".to_owned()),
        ("DATA_DIR".to_owned(), dir.path().display().to_string()),
        (
            "JWT_SECRET".to_owned(),
            "benchmark-secret-that-is-long-enough-0123456789".to_owned(),
        ),
        ("LOG_LEVEL".to_owned(), "error".to_owned()),
        ("MAX_ITEMS_PER_USER".to_owned(), "10000000".to_owned()),
        ("MAX_UPLOAD_BYTES".to_owned(), (1u64 << 30).to_string()),
        (
            "MAX_STORAGE_BYTES_PER_USER".to_owned(),
            (1u64 << 40).to_string(),
        ),
        ("UPLOAD_TIMEOUT_SECS".to_owned(), "600".to_owned()),
        // The benchmark measures throughput, not the limiter: one client is all of the load.
        ("RATE_LIMIT_ANON_PER_MIN".to_owned(), "10000000".to_owned()),
        ("RATE_LIMIT_USER_PER_MIN".to_owned(), "10000000".to_owned()),
        ("RATE_LIMIT_AUTH_PER_MIN".to_owned(), "10000000".to_owned()),
    ];
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        vars.push(("DATABASE_URL".to_owned(), url));
        vars.push(("DATABASE_POOL_SIZE".to_owned(), "32".to_owned()));
    }
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        vars.push(("REDIS_URL".to_owned(), url));
        vars.push((
            "REDIS_PREFIX".to_owned(),
            format!("bench:{}:", uuid::Uuid::new_v4().simple()),
        ));
    }
    let config = aios_app::Config::from_vars(vars).unwrap();
    let state = aios_app::AppState::build(config, aios_app::Overrides::default())
        .await
        .unwrap();
    let server = aios_app::Server::bind(state).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Target {
        base: format!("http://{addr}"),
        client,
        _server: Some((tx, dir)),
    }
}

async fn register(target: &Target) -> (String, String) {
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let response: Value = target
        .client
        .post(format!("{}/api/auth/register", target.base))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (email, response["accessToken"].as_str().unwrap().to_owned())
}

/// Sends the request `build(n)` makes from `concurrency` tasks for `secs` seconds, counting a
/// response with any status but `expected` as an error; prints the figures.
async fn scenario<F>(name: &str, concurrency: u64, secs: u64, expected: u16, build: F)
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let build = Arc::new(build);
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let build = build.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = build(n).send().await.is_ok_and(|r| r.status() == expected);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(t.elapsed());
                n += concurrency;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{name:<36} {:>8.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} errors, {concurrency} clients)",
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        latencies.len(),
        errors.load(Ordering::Relaxed),
    );
}

/// Like [`scenario`] for requests that move `bytes` each: prints MiB/s.
async fn throughput<F>(name: &str, concurrency: u64, secs: u64, expected: u16, bytes: u64, build: F)
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let build = Arc::new(build);
    let (done, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (build, done, errors) = (build.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while Instant::now() < deadline {
                let response = build(n).send().await;
                let ok = match response {
                    Ok(r) if r.status() == expected => r.bytes().await.is_ok(),
                    _ => false,
                };
                let counter = if ok { &done } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
                n += concurrency;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let moved = done.load(Ordering::Relaxed) * bytes;
    println!(
        "{name:<36} {:>8.1} MiB/s  ({} files of {} MiB, {} errors, {concurrency} clients)",
        moved as f64 / (1024.0 * 1024.0) / elapsed,
        done.load(Ordering::Relaxed),
        bytes >> 20,
        errors.load(Ordering::Relaxed),
    );
}

/// A multipart body carrying one file of `size` bytes (an MP4 header, then a byte pattern).
fn multipart_file(size: usize) -> (String, bytes::Bytes) {
    let boundary = "aios-bench-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.mp4\"\r\n\r\n"
    )
    .into_bytes();
    let start = body.len();
    body.extend((0..size).map(|i| (i % 251) as u8));
    body[start..start + 12].copy_from_slice(b"\0\0\0\x18ftypisom");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    (content_type, bytes::Bytes::from(body))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let target = Arc::new(start().await);
        let concurrency = env_or("BENCH_CONCURRENCY", 32);
        let secs = env_or("BENCH_SECS", 5);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        println!(
            "aios-server HTTP benchmark: {} ({cpus} CPUs), {secs} s per scenario",
            target.base
        );
        let (email, token) = register(&target).await;
        let url = |path: &str| format!("{}{path}", target.base);

        let (t, login) = (target.clone(), url("/api/auth/login"));
        scenario("POST /api/auth/login", concurrency, secs, 200, move |_| {
            t.client
                .post(&login)
                .json(&json!({ "email": email, "password": PASSWORD }))
        })
        .await;

        let (t, me, bearer) = (target.clone(), url("/api/users/me"), token.clone());
        scenario("GET /api/users/me", concurrency, secs, 200, move |_| {
            t.client.get(&me).bearer_auth(&bearer)
        })
        .await;

        let (t, data, bearer) = (target.clone(), url("/api/data"), token.clone());
        scenario(
            "POST /api/data (1 user)",
            concurrency,
            secs,
            201,
            move |n| {
                let body =
                    json!({ "name": format!("item {n}"), "data": { "n": n, "tags": ["bench"] } });
                t.client.post(&data).bearer_auth(&bearer).json(&body)
            },
        )
        .await;

        // Each writer its own user: writes of different users do not wait for each other.
        let mut tokens = Vec::new();
        for _ in 0..concurrency {
            tokens.push(register(&target).await.1);
        }
        let (t, data) = (target.clone(), url("/api/data"));
        scenario(
            "POST /api/data (1 user per client)",
            concurrency,
            secs,
            201,
            move |n| {
                let bearer = &tokens[(n % concurrency) as usize];
                let body = json!({ "name": format!("item {n}"), "data": { "n": n } });
                t.client.post(&data).bearer_auth(bearer).json(&body)
            },
        )
        .await;

        let page: Value = target
            .client
            .get(url("/api/data?limit=100"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| url(&format!("/api/data/{}", i["id"].as_str().unwrap())))
            .collect();
        let (t, bearer) = (target.clone(), token.clone());
        scenario("GET /api/data/{id}", concurrency, secs, 200, move |n| {
            t.client
                .get(&items[(n as usize) % items.len()])
                .bearer_auth(&bearer)
        })
        .await;

        let (t, list, bearer) = (target.clone(), url("/api/data?limit=20"), token.clone());
        scenario(
            "GET /api/data?limit=20",
            concurrency,
            secs,
            200,
            move |_| t.client.get(&list).bearer_auth(&bearer),
        )
        .await;

        let file_bytes = env_or("BENCH_FILE_MIB", 8) << 20;
        let file_clients = env_or("BENCH_FILE_CONCURRENCY", 4);
        let (content_type, body) = multipart_file(file_bytes as usize);
        let (t, files, bearer) = (target.clone(), url("/api/files"), token.clone());
        let upload = body.clone();
        throughput(
            "POST /api/files",
            file_clients,
            secs,
            201,
            file_bytes,
            move |_| {
                t.client
                    .post(&files)
                    .bearer_auth(&bearer)
                    .header("content-type", &content_type)
                    .body(upload.clone())
            },
        )
        .await;
        let (content_type, body) = (multipart_file(file_bytes as usize).0, body);
        let stored: Value = target
            .client
            .post(url("/api/files"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let content = url(&format!(
            "/api/files/{}/content",
            stored["id"].as_str().unwrap()
        ));
        let (t, bearer) = (target.clone(), token.clone());
        throughput(
            "GET /api/files/{id}/content",
            file_clients,
            secs,
            200,
            file_bytes,
            move |_| t.client.get(&content).bearer_auth(&bearer),
        )
        .await;
    });
}
