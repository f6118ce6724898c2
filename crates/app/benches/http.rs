//! HTTP load benchmark: `cargo bench -p aios-app --bench http`.
//!
//! Starts the real server in-process (SQLite in a temporary directory, or PostgreSQL/Redis
//! with `BENCH_DATABASE_URL` / `BENCH_REDIS_URL`), or targets a running one with `BENCH_URL`,
//! and drives each scenario with `BENCH_CONCURRENCY` (default 32) clients for `BENCH_SECS`
//! (default 5) seconds. Prints requests per second and latency percentiles. On one machine
//! the load generator shares the CPU with the server: the figures are a floor.
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

/// Runs `request` from `concurrency` tasks for `secs` seconds; prints the figures.
async fn scenario<F, Fut>(name: &str, concurrency: u64, secs: u64, request: F)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let request = request.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let t = Instant::now();
                if !request(n).await {
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
        println!("aios-server HTTP benchmark: {} ({cpus} CPUs), {secs} s per scenario", target.base);

        let (email, token) = register(&target).await;

        let t = target.clone();
        let email_for_login = email.clone();
        scenario("POST /api/auth/login", concurrency, secs, move |_| {
            let t = t.clone();
            let email = email_for_login.clone();
            async move {
                let response = t
                    .client
                    .post(format!("{}/api/auth/login", t.base))
                    .json(&json!({ "email": email, "password": PASSWORD }))
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 200)
            }
        })
        .await;

        let t = target.clone();
        let bearer = token.clone();
        scenario("GET /api/users/me", concurrency, secs, move |_| {
            let t = t.clone();
            let bearer = bearer.clone();
            async move {
                let response = t
                    .client
                    .get(format!("{}/api/users/me", t.base))
                    .bearer_auth(bearer)
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 200)
            }
        })
        .await;

        let t = target.clone();
        let bearer = token.clone();
        scenario("POST /api/data (1 user)", concurrency, secs, move |n| {
            let t = t.clone();
            let bearer = bearer.clone();
            async move {
                let response = t
                    .client
                    .post(format!("{}/api/data", t.base))
                    .bearer_auth(bearer)
                    .json(&json!({ "name": format!("item {n}"), "data": { "n": n, "tags": ["bench"] } }))
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 201)
            }
        })
        .await;

        // Each writer its own user: writes of different users do not wait for each other.
        let mut tokens = Vec::new();
        for _ in 0..concurrency {
            tokens.push(register(&target).await.1);
        }
        let tokens = Arc::new(tokens);
        let t = target.clone();
        scenario("POST /api/data (1 user per client)", concurrency, secs, move |n| {
            let t = t.clone();
            let bearer = tokens[(n % concurrency) as usize].clone();
            async move {
                let response = t
                    .client
                    .post(format!("{}/api/data", t.base))
                    .bearer_auth(bearer)
                    .json(&json!({ "name": format!("item {n}"), "data": { "n": n } }))
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 201)
            }
        })
        .await;

        let page: Value = target
            .client
            .get(format!("{}/api/data?limit=100", target.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Arc<Vec<String>> = Arc::new(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect(),
        );

        let t = target.clone();
        let bearer = token.clone();
        scenario("GET /api/data/{id}", concurrency, secs, move |n| {
            let t = t.clone();
            let bearer = bearer.clone();
            let id = ids[(n as usize) % ids.len()].clone();
            async move {
                let response = t
                    .client
                    .get(format!("{}/api/data/{id}", t.base))
                    .bearer_auth(bearer)
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 200)
            }
        })
        .await;

        let t = target.clone();
        let bearer = token.clone();
        scenario("GET /api/data?limit=20", concurrency, secs, move |_| {
            let t = t.clone();
            let bearer = bearer.clone();
            async move {
                let response = t
                    .client
                    .get(format!("{}/api/data?limit=20", t.base))
                    .bearer_auth(bearer)
                    .send()
                    .await;
                response.is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
    });
}
