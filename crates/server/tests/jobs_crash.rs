//! Jobs survive their worker, with the real binary: a worker killed with SIGKILL in the middle of
//! a job loses nothing (another worker runs it once the lease has run out), and a worker told to
//! stop with SIGTERM gives a job it cannot finish in time back to the queue at once.
//!
//! The job is the verification email of a registration. The first worker sends it to an SMTP
//! server that accepts the connection and then says nothing, so the send hangs for as long as the
//! test needs; the second worker has the log transport, whose log line shows the email went out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::postgres::{TestDatabase, database_url, require_services};
use support::{Cluster, Served, Spawned, unique_email};

/// What the log transport writes for each message it would have sent.
const SENT: &str = "email (development transport, not delivered)";

/// An SMTP server that never greets: every connection is accepted and held open in silence.
struct SilentSmtp {
    port: u16,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentSmtp {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let sink = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                sink.lock().unwrap().push(stream);
            }
        });
        Self { port, held }
    }

    fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    fn wait_for_connection(&self, limit: Duration) {
        let started = Instant::now();
        while self.connections() == 0 {
            assert!(
                started.elapsed() < limit,
                "no worker connected to send the mail"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Quick polling, and a short lease so that the test waits seconds for a dead worker's jobs,
/// not half a minute.
const VARS: &[(&str, &str)] = &[
    ("LOG_FORMAT", "json"),
    ("JOBS_POLL_INTERVAL_MS", "100"),
    ("JOBS_LEASE_SECS", "3"),
    ("RATE_LIMIT_AUTH_PER_MIN", "100000"),
];

impl Cluster {
    /// An API instance that runs no jobs: what it raises waits in the queue for the workers.
    fn api(&self) -> Served {
        Served::start(self.command().env("JOBS_IN_PROCESS", "false").arg("serve"))
    }

    /// A worker whose mail goes to the silent server: its first mail job hangs.
    fn stuck_worker(&self, smtp: &SilentSmtp) -> Spawned {
        let mut command = self.command();
        command
            .env("MAIL_TRANSPORT", "smtp")
            .env(
                "SMTP_URL",
                format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
            )
            .env("MAIL_TIMEOUT_SECS", "50")
            .arg("worker");
        Spawned::start(&mut command)
    }

    /// A worker with the log transport, which "sends" every mail at once.
    fn logging_worker(&self) -> Spawned {
        Spawned::start(self.command().env("MAIL_TRANSPORT", "log").arg("worker"))
    }
}

fn wait_for_mail_to(worker: &Spawned, email: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let log = worker.log();
        if log
            .lines()
            .any(|line| line.contains(SENT) && line.contains(email))
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "the mail to {email} was not sent within {limit:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_killed_worker_loses_no_job(database_url: Option<&str>) {
    let cluster = Cluster::new(database_url, VARS);
    let smtp = SilentSmtp::start();
    let api = cluster.api();
    let email = unique_email("killed");
    api.register(&email);

    let mut stuck = cluster.stuck_worker(&smtp);
    smtp.wait_for_connection(Duration::from_secs(30));
    // Mid-job: the worker holds the job and waits for the SMTP greeting. SIGKILL gives it no
    // chance to hand the job back.
    stuck.child.kill().unwrap();
    stuck.child.wait().unwrap();
    let killed_at = Instant::now();

    let rescuer = cluster.logging_worker();
    wait_for_mail_to(&rescuer, &email, Duration::from_secs(30));
    let after = killed_at.elapsed();
    // Not before the lease the dead worker held had run out.
    assert!(after >= Duration::from_secs(2), "ran again after {after:?}");
    // Exactly once on the second worker.
    let sent = rescuer
        .log()
        .lines()
        .filter(|line| line.contains(SENT) && line.contains(&email))
        .count();
    assert_eq!(sent, 1, "{}", rescuer.log());
}

fn a_stopped_worker_gives_its_job_back(database_url: Option<&str>) {
    let cluster = Cluster::new(database_url, VARS);
    let smtp = SilentSmtp::start();
    let api = cluster.api();
    let email = unique_email("stopped");
    api.register(&email);

    let mut stopping = {
        let mut command = cluster.command();
        command
            .env("MAIL_TRANSPORT", "smtp")
            .env(
                "SMTP_URL",
                format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
            )
            .env("MAIL_TIMEOUT_SECS", "50")
            .env("SHUTDOWN_TIMEOUT_SECS", "2")
            // A long lease: only the hand-back can make the job run again soon.
            .env("JOBS_LEASE_SECS", "600")
            .arg("worker");
        Spawned::start(&mut command)
    };
    smtp.wait_for_connection(Duration::from_secs(30));
    let status = stopping.terminate(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "the worker did not stop cleanly within 15 s: {status:?}\n{}",
        stopping.log()
    );
    assert!(
        stopping.log().contains("queued again"),
        "{}",
        stopping.log()
    );

    let rescuer = cluster.logging_worker();
    // Well under the 600 s lease: the job was back in the queue.
    wait_for_mail_to(&rescuer, &email, Duration::from_secs(20));
}

#[test]
fn a_worker_killed_mid_job_on_sqlite_loses_nothing() {
    a_killed_worker_loses_no_job(None);
}

#[test]
fn a_worker_killed_mid_job_on_postgres_loses_nothing() {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return;
    }
    let database = TestDatabase::create().expect("a test database");
    a_killed_worker_loses_no_job(Some(&database.url));
}

#[test]
fn a_worker_stopped_mid_job_on_sqlite_queues_the_job_again() {
    a_stopped_worker_gives_its_job_back(None);
}

#[test]
fn a_worker_stopped_mid_job_on_postgres_queues_the_job_again() {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return;
    }
    let database = TestDatabase::create().expect("a test database");
    a_stopped_worker_gives_its_job_back(Some(&database.url));
}
