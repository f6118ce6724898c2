//! Shared by the tests of the real binary: a clean environment per command, plain HTTP calls,
//! servers that are killed when the test ends, and the PostgreSQL database a test may create.
#![allow(dead_code, reason = "each test binary uses a part of this")]

pub mod postgres;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_aios-server");
/// Random-looking, as production requires.
pub const SECRET: &str = "c3Vx9QeT2rLm8ZpW4kBn7YhG1dFs6JaU0oXi5MvR";
pub const PASSWORD: &str = "a long user passphrase";

/// A command with a clean environment: a private data directory, no inherited configuration.
pub fn aios(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("LOG_LEVEL", "warn")
        .current_dir(data_dir);
    command
}

/// One data directory (and, when given, one PostgreSQL database) that several processes of a test
/// share, migrated once; each command carries the test's own variables.
pub struct Cluster {
    dir: tempfile::TempDir,
    database_url: Option<String>,
    vars: Vec<(&'static str, &'static str)>,
}

impl Cluster {
    pub fn new(database_url: Option<&str>, vars: &[(&'static str, &'static str)]) -> Self {
        let cluster = Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: database_url.map(str::to_owned),
            vars: vars.to_vec(),
        };
        let migrated = cluster.command().arg("migrate").output().unwrap();
        assert!(migrated.status.success(), "{}", text(&migrated));
        cluster
    }

    pub fn command(&self) -> Command {
        let mut command = aios(self.dir.path());
        command.env("JWT_SECRET", SECRET).env("LOG_LEVEL", "info");
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        command
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A plain HTTP/1.1 exchange; returns the status line and the whole response.
pub fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Waits until the server is live and past start-up: it answers `/health/live` from its first
/// moment, while it still connects to the database (`/health/ready` says `starting` then).
pub fn wait_until_live(port: u16, child: &mut Child) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let live = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let ready = "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if http(port, live).is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            && http(port, ready).is_some_and(|r| !r.contains("\"status\":\"starting\""))
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up");
}

/// An answer of the API: the status and the body as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

/// One API call with an optional bearer token and JSON body.
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = http(port, &request).expect("the server answers");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let text = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Answer {
        status,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// A running process of the binary (a `worker`, say), killed when dropped; its output is
/// collected line by line.
pub struct Spawned {
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl Spawned {
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the process");
        let tag = child.id();
        let log = collect(&mut child, tag);
        Self { child, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the child's stdout and stderr into one shared log (and to stderr with `TEST_LOG`).
fn collect(child: &mut Child, tag: u32) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[{tag}] {line}");
                }
                if let Ok(mut log) = log.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
    }
    log
}

/// A running `aios-server serve`, killed when dropped. Its log is collected for assertions.
pub struct Served {
    pub port: u16,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `command` (which must not set `PORT` or `HOST`) and waits until it is live.
    pub fn start(command: &mut Command) -> Self {
        let port = free_port();
        let mut child = command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let log = collect(&mut child, u32::from(port));
        wait_until_live(port, &mut child);
        Self { port, child, log }
    }

    /// The server's process id (to read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log holds `needle` at least `count` times.
    pub fn wait_for_log(&self, needle: &str, count: usize, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.log().matches(needle).count() >= count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        call(self.port, method, path, bearer, body)
    }

    /// Registers `email` and returns the access token of its first session.
    pub fn register(&self, email: &str) -> String {
        let body = serde_json::json!({ "email": email, "password": PASSWORD });
        let answer = self.call("POST", "/api/auth/register", None, Some(&body));
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned()
    }

    pub fn login(&self, email: &str) -> Answer {
        let body = serde_json::json!({ "email": email, "password": PASSWORD });
        self.call("POST", "/api/auth/login", None, Some(&body))
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET /api/users/me` on `port` with `token` until it is refused; the time that took.
pub fn time_until_refused(port: u16, token: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let answer = call(port, "GET", "/api/users/me", Some(token), None);
        if answer.status == 401 {
            return Some(started.elapsed());
        }
        assert_eq!(answer.status, 200, "{}", answer.text);
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}
