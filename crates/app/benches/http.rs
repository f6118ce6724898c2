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
    aios_app::platform::tls::install_crypto_provider();
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
    });
}
