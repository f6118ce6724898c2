//! A rolling restart under load, with the real binary: two `serve` instances on one database
//! (a shared SQLite `DATA_DIR`, and PostgreSQL when `TEST_DATABASE_URL` is set) behind a
//! load balancer played by the test. The balancer checks `/health/ready` of each instance every
//! 100 ms and sends requests round-robin to those that answered 200, as nginx or an ALB would.
//! One instance gets SIGTERM and is started again on the same port while the client keeps
//! sending: not one request may fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::postgres::{TestDatabase, database_url, require_services};
use support::{Cluster, Spawned, free_port, http, unique_email, wait_until_live};

/// Long enough for the balancer's 100 ms checks to notice, short enough for a quick test.
const GRACE_SECS: &str = "2";

const VARS: &[(&str, &str)] = &[
    ("JOBS_IN_PROCESS", "false"),
    ("SHUTDOWN_GRACE_SECS", GRACE_SECS),
    ("RATE_LIMIT_ANON_PER_MIN", "1000000"),
    ("RATE_LIMIT_USER_PER_MIN", "1000000"),
    ("RATE_LIMIT_AUTH_PER_MIN", "1000000"),
];

impl Cluster {
    /// `serve` on `port`, once it is live.
    fn serve(&self, port: u16) -> Spawned {
        let mut command = self.command();
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .arg("serve");
        let mut spawned = Spawned::start(&mut command);
        wait_until_live(port, &mut spawned.child);
        spawned
    }
}

fn status_of(response: Option<&str>) -> Option<u16> {
    response?.split(' ').nth(1)?.parse().ok()
}

fn get(port: u16, path: &str, token: Option<&str>) -> Option<u16> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n");
    status_of(http(port, &request).as_deref())
}

/// The balancer's view: which instances answered their last readiness check with 200.
struct Balancer {
    ports: [u16; 2],
    up: [AtomicBool; 2],
    /// Readiness answers other than 200 seen while the instance's process was running.
    refused_checks: [AtomicUsize; 2],
    stop: AtomicBool,
}

impl Balancer {
    fn check_forever(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            for (i, port) in self.ports.iter().enumerate() {
                let status = get(*port, "/health/ready", None);
                if status == Some(503) {
                    self.refused_checks[i].fetch_add(1, Ordering::Relaxed);
                }
                self.up[i].store(status == Some(200), Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The next instance in rotation that is up, round-robin from `turn`.
    fn pick(&self, turn: usize) -> Option<usize> {
        (0..2)
            .map(|k| (turn + k) % 2)
            .find(|i| self.up[*i].load(Ordering::Relaxed))
    }
}

#[derive(Default)]
struct Tally {
    served: [usize; 2],
    failures: Vec<String>,
}

fn restart_under_load(database_url: Option<&str>) {
    let cluster = Cluster::new(database_url, VARS);
    let ports = [free_port(), free_port()];
    let mut first = cluster.serve(ports[0]);
    let second = cluster.serve(ports[1]);
    let token = {
        let body =
            serde_json::json!({ "email": unique_email("roll"), "password": support::PASSWORD });
        let answer = support::call(ports[1], "POST", "/api/auth/register", None, Some(&body));
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json["accessToken"].as_str().unwrap().to_owned()
    };

    let balancer = Arc::new(Balancer {
        ports,
        up: [AtomicBool::new(false), AtomicBool::new(false)],
        refused_checks: [AtomicUsize::new(0), AtomicUsize::new(0)],
        stop: AtomicBool::new(false),
    });
    let checker = {
        let balancer = balancer.clone();
        std::thread::spawn(move || balancer.check_forever())
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let client = {
        let (balancer, tally, token) = (balancer.clone(), tally.clone(), token.clone());
        std::thread::spawn(move || {
            let mut turn = 0;
            while !balancer.stop.load(Ordering::Relaxed) {
                turn += 1;
                let Some(i) = balancer.pick(turn) else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let status = get(balancer.ports[i], "/api/users/me", Some(&token));
                let mut tally = tally.lock().unwrap();
                match status {
                    Some(200) => tally.served[i] += 1,
                    other => tally.failures.push(format!("instance {i}: {other:?}")),
                }
            }
        })
    };
    let wait_until_up = |i: usize| {
        let started = Instant::now();
        while !balancer.up[i].load(Ordering::Relaxed) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "instance {i} never ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_until_up(0);
    wait_until_up(1);
    std::thread::sleep(Duration::from_millis(500));

    // SIGTERM: readiness fails at once, and the instance still answers what reaches it.
    let _ = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status();
    let started = Instant::now();
    while get(ports[0], "/health/ready", None) != Some(503) {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "readiness never turned 503"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "readiness took {:?} to fail",
        started.elapsed()
    );
    assert_eq!(
        get(ports[0], "/api/users/me", Some(&token)),
        Some(200),
        "a request accepted during the grace period is served"
    );
    // A keep-alive client is told to reconnect (and so reach the other instance).
    let kept = http(
        ports[0],
        &format!("GET /api/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"),
    )
    .unwrap_or_default();
    assert!(kept.starts_with("HTTP/1.1 200"), "{kept}");
    assert!(
        kept.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{kept}"
    );
    let exited = first.terminate(Duration::from_secs(30));
    assert!(
        exited.is_some_and(|s| s.success()),
        "{exited:?}\n{}",
        first.log()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the listener closed before SHUTDOWN_GRACE_SECS: {:?}",
        started.elapsed()
    );
    assert!(
        first.log().contains("draining"),
        "no drain logged: {}",
        first.log()
    );
    let served_before_restart = tally.lock().unwrap().served;

    // Started again on the same port, it rejoins the rotation.
    let first = cluster.serve(ports[0]);
    wait_until_up(0);
    std::thread::sleep(Duration::from_millis(500));
    balancer.stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    checker.join().unwrap();

    let tally = tally.lock().unwrap();
    assert!(
        tally.failures.is_empty(),
        "{} failed requests: {:?}",
        tally.failures.len(),
        &tally.failures[..tally.failures.len().min(10)]
    );
    assert!(
        balancer.refused_checks[0].load(Ordering::Relaxed) >= 1,
        "the balancer never saw the draining instance's 503"
    );
    assert!(
        tally.served[0] > served_before_restart[0],
        "the restarted instance got no requests: {:?} then {:?}",
        served_before_restart,
        tally.served
    );
    assert!(tally.served[1] > 20, "{:?}", tally.served);
    eprintln!(
        "rolling restart: {} requests served ({:?} per instance), 0 failed",
        tally.served.iter().sum::<usize>(),
        tally.served
    );
    drop((first, second));
}

#[test]
fn a_rolling_restart_on_a_shared_sqlite_data_dir_fails_no_request() {
    restart_under_load(None);
}

#[test]
fn a_rolling_restart_on_postgres_fails_no_request() {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return;
    }
    let database = TestDatabase::create().expect("a test database");
    restart_under_load(Some(&database.url));
}
