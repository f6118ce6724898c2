//! The binary as an operator uses it: commands, exit codes, configuration errors, and a real
//! SIGTERM during a request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aios-server");
/// Random-looking, as production requires.
const SECRET: &str = "c3Vx9QeT2rLm8ZpW4kBn7YhG1dFs6JaU0oXi5MvR";

/// A command with a clean environment: a private data directory, no inherited configuration.
fn aios(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("LOG_LEVEL", "warn")
        .current_dir(data_dir);
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A plain HTTP/1.1 exchange; returns the status line and the whole response.
fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn wait_until_live(port: u16, child: &mut Child) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let request = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if http(port, request).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up");
}

#[test]
fn a_bad_port_stops_the_server_with_a_message_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = aios(dir.path()).env("PORT", "eighty").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(message.contains("PORT"), "{message}");
    assert!(message.contains("eighty"), "{message}");
}

#[test]
fn production_refuses_to_start_without_a_long_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let output = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("JWT_SECRET"), "{}", text(&output));
}

#[test]
fn production_refuses_to_start_with_a_guessable_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    for weak in ["x".repeat(40), "password".repeat(5)] {
        let output = aios(dir.path())
            .env("APP_ENV", "production")
            .env("JWT_SECRET", &weak)
            .env("METRICS_TOKEN", "scrape-token")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let message = text(&output);
        assert!(message.contains("JWT_SECRET") && message.contains("guessable"), "{message}");
    }
}

#[test]
fn help_describes_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = text(&aios(dir.path()).arg("--help").output().unwrap());
    for command in ["serve", "worker", "migrate", "db", "admin"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    let db = text(&aios(dir.path()).args(["db", "--help"]).output().unwrap());
    for command in ["check", "reset", "seed"] {
        assert!(db.contains(command), "{command} in {db}");
    }
    let admin = text(
        &aios(dir.path())
            .args(["admin", "create", "--help"])
            .output()
            .unwrap(),
    );
    assert!(
        admin.contains("stdin") || admin.contains("standard input"),
        "{admin}"
    );
}

#[test]
fn db_check_reports_pending_migrations_until_migrate_applies_them() {
    let dir = tempfile::tempdir().unwrap();
    let before = aios(dir.path()).args(["db", "check"]).output().unwrap();
    assert_eq!(before.status.code(), Some(1), "{}", text(&before));
    assert!(text(&before).contains("pending"), "{}", text(&before));
    let migrate = aios(dir.path()).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{}", text(&migrate));
    let after = aios(dir.path()).args(["db", "check"]).output().unwrap();
    assert!(after.status.success(), "{}", text(&after));
    assert!(text(&after).contains("up to date"), "{}", text(&after));
}

#[test]
fn db_reset_is_refused_in_production_and_needs_confirmation_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let production = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("METRICS_TOKEN", "scrape-token")
        .args(["db", "reset", "--yes"])
        .output()
        .unwrap();
    assert_eq!(production.status.code(), Some(1), "{}", text(&production));
    assert!(
        text(&production).contains("refused when APP_ENV=production"),
        "{}",
        text(&production)
    );
    let unconfirmed = aios(dir.path())
        .args(["db", "reset"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!unconfirmed.status.success(), "{}", text(&unconfirmed));
    let confirmed = aios(dir.path())
        .args(["db", "reset", "--yes"])
        .output()
        .unwrap();
    assert!(confirmed.status.success(), "{}", text(&confirmed));
}

fn admin_create(dir: &std::path::Path, email: &str, password: &str) -> Output {
    let mut child = aios(dir)
        .args(["admin", "create", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_reads_the_password_from_stdin_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let created = admin_create(dir.path(), "root@example.com", "a long admin passphrase");
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("root@example.com"));
    let again = admin_create(dir.path(), "root@example.com", "a long admin passphrase");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let weak = admin_create(dir.path(), "other@example.com", "password");
    assert_eq!(weak.status.code(), Some(1));
    assert!(text(&weak).contains("password"), "{}", text(&weak));
}

#[test]
fn db_seed_adds_the_demo_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = aios(dir.path()).args(["db", "seed"]).output().unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("demo@example.com"));
    let second = aios(dir.path()).args(["db", "seed"]).output().unwrap();
    assert!(second.status.success());
    assert!(
        text(&second).contains("nothing to seed"),
        "{}",
        text(&second)
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = aios(dir.path())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_live(port, &mut child);

    // A login whose body arrives slowly: in flight when the signal comes.
    let body = r#"{"email":"nobody@example.com","password":"not the password"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still finishing the request"
    );
    let refused = TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "no new connections once stopping");

    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("INVALID_CREDENTIALS"), "{response}");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn production_refuses_to_start_with_metrics_open_to_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("the server started with neither METRICS_TOKEN nor METRICS_ADDR");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("METRICS_TOKEN"), "{}", text(&output));
}
