//! Scale-out with the real binary: two `serve` instances (on different ports, running no jobs)
//! and two `worker` processes on one fresh PostgreSQL database behave as one server.
//!
//! With Redis: a rate limit is shared, a logout through one instance is refused by the other at
//! once, an item changed through one is seen changed through the other, an `Idempotency-Key`
//! replays across them, each scheduled task runs once per period, and a job raised through an
//! instance is run by a worker.
//!
//! Without Redis, what the README promises for that setup, exactly: rate limits are counted per
//! instance; a logout is refused by the other within a second (PostgreSQL `NOTIFY`); an item
//! read through the other instance before it changed is served from that instance's cache (up
//! to 5 minutes); idempotent replays, scheduled tasks and jobs are in the database, so shared.
//!
//! Needs `TEST_DATABASE_URL` (and `TEST_REDIS_URL` for the Redis half); skips without them and
//! fails with `REQUIRE_SERVICES=1`. A last test, on SQLite, scrapes a worker's `METRICS_ADDR`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::postgres::{TestDatabase, database_url, require_services};
use support::{SECRET, Served, Spawned, aios, http, time_until_refused, unique_email};

/// What the log transport writes for each message it would have sent.
const SENT: &str = "email (development transport, not delivered)";
/// Requests per minute of one user: small, so the test can spend it.
const USER_LIMIT: usize = 10;

fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

struct Cluster {
    _db: TestDatabase,
    _dirs: Vec<tempfile::TempDir>,
    a: Served,
    b: Served,
    workers: Vec<Spawned>,
    workers_started: Instant,
}

fn command(db: &TestDatabase, redis: Option<&(String, String)>) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = aios(dir.path());
    command
        .env("DATABASE_URL", &db.url)
        .env("DATABASE_POOL_SIZE", "4")
        .env("JWT_SECRET", SECRET)
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .env("JOBS_IN_PROCESS", "false")
        .env("JOBS_POLL_INTERVAL_MS", "100")
        .env("MAIL_TRANSPORT", "log")
        .env("MAINTENANCE_SCHEDULE", "* * * * * *")
        .env("TOMBSTONE_PURGE_SCHEDULE", "* * * * * *")
        .env("RATE_LIMIT_ANON_PER_MIN", "100000")
        .env("RATE_LIMIT_AUTH_PER_MIN", "100000")
        .env("RATE_LIMIT_USER_PER_MIN", USER_LIMIT.to_string());
    if let Some((url, prefix)) = redis {
        command.env("REDIS_URL", url).env("REDIS_PREFIX", prefix);
    }
    (command, dir)
}

impl Cluster {
    fn start(redis: Option<String>) -> Self {
        let db = TestDatabase::create().expect("a test database");
        let redis = redis.map(|url| (url, format!("scale-{}:", uuid::Uuid::new_v4().simple())));
        let mut dirs = Vec::new();
        let (mut migrate, dir) = command(&db, redis.as_ref());
        dirs.push(dir);
        let migrated = migrate.arg("migrate").output().unwrap();
        assert!(migrated.status.success(), "{}", support::text(&migrated));
        let mut serve = || {
            let (mut command, dir) = command(&db, redis.as_ref());
            dirs.push(dir);
            Served::start(command.arg("serve"))
        };
        let (a, b) = (serve(), serve());
        let workers_started = Instant::now();
        let workers = (0..2)
            .map(|_| {
                let (mut command, dir) = command(&db, redis.as_ref());
                dirs.push(dir);
                Spawned::start(command.arg("worker"))
            })
            .collect();
        Self {
            _db: db,
            _dirs: dirs,
            a,
            b,
            workers,
            workers_started,
        }
    }
}

/// An answer with its headers (lower-cased names).
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    json: Value,
}

fn send(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    extra: &str,
    body: Option<&Value>,
) -> Reply {
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = http(port, &request).expect("an answer");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// Spends one user's budget through both instances in turn; how many were let through, and
/// the next answer of each instance.
fn spend_alternating(cluster: &Cluster, token: &str) -> (usize, u16, u16) {
    let mut allowed = 0;
    for i in 0..(3 * USER_LIMIT) {
        let port = if i % 2 == 0 {
            cluster.a.port
        } else {
            cluster.b.port
        };
        match send(port, "GET", "/api/users/me", token, "", None).status {
            200 => allowed += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
    }
    let on_a = send(cluster.a.port, "GET", "/api/users/me", token, "", None).status;
    let on_b = send(cluster.b.port, "GET", "/api/users/me", token, "", None).status;
    (allowed, on_a, on_b)
}

/// Spends one user's budget through A alone; how many A let through and what B answers next.
fn spend_on_a(cluster: &Cluster, token: &str) -> (usize, u16) {
    let mut allowed = 0;
    while send(cluster.a.port, "GET", "/api/users/me", token, "", None).status == 200 {
        allowed += 1;
        assert!(allowed <= 3 * USER_LIMIT, "A never limited the user");
    }
    let on_b = send(cluster.b.port, "GET", "/api/users/me", token, "", None).status;
    (allowed, on_b)
}

/// Creates an item through A with an `Idempotency-Key`, retries through B: one item, replayed.
fn idempotent_create_replays_across_instances(cluster: &Cluster, token: &str) {
    let key = "Idempotency-Key: scale-out-1\r\n";
    let body = json!({ "name": "once" });
    let first = send(cluster.a.port, "POST", "/api/data", token, key, Some(&body));
    assert_eq!(first.status, 201, "{}", first.json);
    let again = send(cluster.b.port, "POST", "/api/data", token, key, Some(&body));
    assert_eq!(again.status, 201, "{}", again.json);
    assert_eq!(
        again.headers.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    assert_eq!(again.json["id"], first.json["id"]);
    let list = send(cluster.b.port, "GET", "/api/data", token, "", None);
    assert_eq!(
        list.json["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        list.json
    );
}

/// Reads an item through B, renames it through A and reads it through B again: the version B
/// then serves.
fn version_b_serves_after_a_change(cluster: &Cluster, token: &str) -> u64 {
    let created = send(
        cluster.a.port,
        "POST",
        "/api/data",
        token,
        "",
        Some(&json!({ "name": "v1" })),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let path = format!("/api/data/{}", created.json["id"].as_str().unwrap());
    let seen = send(cluster.b.port, "GET", &path, token, "", None);
    assert_eq!(seen.json["version"], 1, "{}", seen.json);
    let put = send(
        cluster.a.port,
        "PUT",
        &path,
        token,
        "",
        Some(&json!({ "name": "v2" })),
    );
    assert_eq!(put.status, 200, "{}", put.json);
    assert_eq!(put.json["version"], 2);
    send(cluster.b.port, "GET", &path, token, "", None).json["version"]
        .as_u64()
        .unwrap()
}

/// Every scheduled-task run in the workers' JSON logs, counted per `(task, period)`.
fn runs_per_period(cluster: &Cluster) -> BTreeMap<(String, u64), usize> {
    let mut per_period = BTreeMap::new();
    for worker in &cluster.workers {
        for line in worker.log().lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if entry["message"] != "scheduled task ran" {
                continue;
            }
            if let (Some(task), Some(period)) = (entry["task"].as_str(), entry["period"].as_u64()) {
                *per_period.entry((task.to_owned(), period)).or_default() += 1;
            }
        }
    }
    per_period
}

fn scheduled_tasks_run_once_per_period(cluster: &Cluster) {
    // Enough periods to see both workers race for several of them.
    let wanted = Duration::from_secs(6);
    if let Some(rest) = wanted.checked_sub(cluster.workers_started.elapsed()) {
        std::thread::sleep(rest);
    }
    let per_period = runs_per_period(cluster);
    let twice: Vec<_> = per_period.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "periods run more than once: {twice:?}");
    for task in ["purge_expired", "purge_tombstones"] {
        let periods = per_period.keys().filter(|(name, _)| name == task).count();
        assert!(periods >= 3, "{task}: {periods} periods: {per_period:?}");
    }
    for served in [&cluster.a, &cluster.b] {
        assert!(
            !served.log().contains("scheduled task ran"),
            "an instance with JOBS_IN_PROCESS=false ran a scheduled task"
        );
    }
}

/// A registration through B: its verification mail is sent by a worker, not by A or B.
fn a_job_raised_through_an_instance_is_run_by_a_worker(cluster: &Cluster) {
    let email = unique_email("mailed");
    cluster.b.register(&email);
    let sent = |log: &str| log.lines().any(|l| l.contains(SENT) && l.contains(&email));
    let started = Instant::now();
    while !cluster.workers.iter().any(|w| sent(&w.log())) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no worker sent the mail to {email}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!sent(&cluster.a.log()) && !sent(&cluster.b.log()));
}

#[test]
fn two_instances_and_workers_on_postgres_and_redis_behave_as_one() {
    let available = database_url().is_some() && redis_url().is_some();
    if !require_services("PostgreSQL and Redis (TEST_REDIS_URL)", available) {
        return;
    }
    let cluster = Cluster::start(redis_url());

    // One budget for both instances: the user's 10 requests a minute, wherever they land.
    let token = cluster.a.register(&unique_email("limited"));
    let (allowed, on_a, on_b) = spend_alternating(&cluster, &token);
    assert!(
        (USER_LIMIT..=USER_LIMIT + 1).contains(&allowed),
        "{allowed} requests allowed through two instances"
    );
    assert_eq!((on_a, on_b), (429, 429));

    // A logout through A: B refuses the token on the very next request.
    let token = cluster.a.register(&unique_email("logout"));
    assert_eq!(
        send(cluster.b.port, "GET", "/api/users/me", &token, "", None).status,
        200
    );
    let logout = send(cluster.a.port, "POST", "/api/auth/logout", &token, "", None);
    assert_eq!(logout.status, 204);
    assert_eq!(
        send(cluster.b.port, "GET", "/api/users/me", &token, "", None).status,
        401
    );

    let token = cluster.b.register(&unique_email("items"));
    idempotent_create_replays_across_instances(&cluster, &token);
    assert_eq!(
        version_b_serves_after_a_change(&cluster, &token),
        2,
        "with Redis B sees A's change at once"
    );
    a_job_raised_through_an_instance_is_run_by_a_worker(&cluster);
    scheduled_tasks_run_once_per_period(&cluster);
}

#[test]
fn without_redis_instances_share_what_the_readme_promises_and_no_more() {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return;
    }
    let cluster = Cluster::start(None);

    // Budgets are per instance: A limits the user, B still lets it through.
    let token = cluster.a.register(&unique_email("limited"));
    let (allowed, on_b) = spend_on_a(&cluster, &token);
    assert!(
        (USER_LIMIT..=USER_LIMIT + 1).contains(&allowed),
        "{allowed} allowed by A"
    );
    assert_eq!(on_b, 200, "without Redis B has a budget of its own");

    // A logout through A is refused by B within a second (PostgreSQL NOTIFY).
    let token = cluster.a.register(&unique_email("logout"));
    assert_eq!(
        send(cluster.b.port, "GET", "/api/users/me", &token, "", None).status,
        200
    );
    let logout = send(cluster.a.port, "POST", "/api/auth/logout", &token, "", None);
    assert_eq!(logout.status, 204);
    assert!(
        time_until_refused(cluster.b.port, &token, Duration::from_secs(1)).is_some(),
        "B still accepts the token a second after the logout"
    );

    let token = cluster.b.register(&unique_email("items"));
    idempotent_create_replays_across_instances(&cluster, &token);
    assert_eq!(
        version_b_serves_after_a_change(&cluster, &token),
        1,
        "without Redis B serves the item it cached (the README's 5-minute staleness)"
    );
    a_job_raised_through_an_instance_is_run_by_a_worker(&cluster);
    scheduled_tasks_run_once_per_period(&cluster);
}

/// A worker serves no API, but its job series are scraped on `METRICS_ADDR` (on SQLite too).
#[test]
fn a_worker_serves_its_job_metrics_on_metrics_addr() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut command = aios(dir.path());
    command
        .env("JWT_SECRET", SECRET)
        .env("METRICS_ADDR", format!("127.0.0.1:{port}"))
        .arg("worker");
    let mut worker = Spawned::start(&mut command);
    let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let started = Instant::now();
    let metrics = loop {
        match http(port, request) {
            Some(r) if r.contains("outbox_lag_seconds") => break r,
            _ => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "no job metrics from the worker: {}",
                    worker.log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for series in [
        "jobs_dead_total{type=",
        "process_resident_memory_bytes",
        "aios_build_info{",
    ] {
        assert!(metrics.contains(series), "{series} missing: {metrics}");
    }
    let status = worker.terminate(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(
        http(port, request).is_none(),
        "the metrics listener closed with the worker"
    );
}
