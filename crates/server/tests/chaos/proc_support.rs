//! What the process, disk and provider scenarios share: a data directory the test owns (so it
//! can read the SQLite file and the upload directory), servers on ports the test picks (so a
//! restarted one is where the client expects it), raw HTTP exchanges that tell an answer from a
//! lost connection, and direct reads of the database.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, Spawned, aios, free_port, wait_until_live};

/// `CHAOS_LONG=1`: the long versions (a minute of outage instead of seconds, more load).
pub fn long() -> bool {
    std::env::var("CHAOS_LONG").is_ok_and(|v| v == "1")
}

/// These scenarios run in the embedded (SQLite) CI run only: they are skipped, saying so, in
/// the run that sets `TEST_DATABASE_URL`, so that each runs once.
pub fn sqlite_run(scenario: &str) -> bool {
    if crate::support::postgres::database_url().is_some() {
        eprintln!("skipped: {scenario} runs in the SQLite run (TEST_DATABASE_URL is set)");
        return false;
    }
    true
}

/// A data directory with the variables of one scenario, migrated once; every server of the
/// scenario runs on it.
pub struct Node {
    pub dir: PathBuf,
    vars: Vec<(String, String)>,
}

impl Node {
    pub fn new(dir: &Path, vars: &[(&str, &str)]) -> Self {
        let node = Self {
            dir: dir.to_path_buf(),
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let migrated = node.command().arg("migrate").output().unwrap();
        assert!(migrated.status.success(), "{}", support::text(&migrated));
        node
    }

    pub fn command(&self) -> Command {
        let mut command = aios(&self.dir);
        command
            .env("JWT_SECRET", support::SECRET)
            .env("LOG_LEVEL", "info")
            .env("RATE_LIMIT_ANON_PER_MIN", "1000000")
            .env("RATE_LIMIT_USER_PER_MIN", "1000000")
            .env("RATE_LIMIT_AUTH_PER_MIN", "1000000");
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        command
    }

    /// `serve` on `port` (a fresh one when `None`), once it is live.
    pub fn serve(&self, port: Option<u16>, extra: &[(&str, &str)]) -> (Spawned, u16) {
        let port = port.unwrap_or_else(free_port);
        let mut command = self.command();
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .envs(extra.iter().copied())
            .arg("serve");
        let mut spawned = Spawned::start(&mut command);
        wait_until_live(port, &mut spawned.child);
        (spawned, port)
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("aios.db")
    }

    /// Every regular file under `uploads/`, relative to it.
    pub fn stored_objects(&self) -> Vec<String> {
        let root = self.dir.join("uploads");
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(relative) = path.strip_prefix(&root) {
                    found.push(relative.display().to_string());
                }
            }
        }
        found.sort();
        found
    }
}

/// SIGKILL: no chance to finish, roll back or say goodbye.
pub fn kill_hard(process: &mut Spawned) {
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}

/// What a client got: an answer, or nothing it can trust (a reset, a timeout, a refused
/// connection), which makes a write ambiguous.
#[derive(Debug)]
pub enum Outcome {
    Answered {
        status: u16,
        head: String,
        body: String,
    },
    Lost(#[expect(dead_code, reason = "read through Debug, in assertion messages")] String),
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered { status, .. } => Some(*status),
            Outcome::Lost(_) => None,
        }
    }

    pub fn json(&self) -> Value {
        match self {
            Outcome::Answered { body, .. } => serde_json::from_str(body).unwrap_or(Value::Null),
            Outcome::Lost(_) => Value::Null,
        }
    }

    /// A response header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<String> {
        let Outcome::Answered { head, .. } = self else {
            return None;
        };
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// One HTTP/1.1 exchange on a new connection: `head_lines` are extra header lines, `body` is
/// sent as JSON. A read that waits longer than `timeout` counts as lost.
pub fn exchange(
    port: u16,
    method: &str,
    path: &str,
    head_lines: &[String],
    body: &str,
    timeout: Duration,
) -> Outcome {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for line in head_lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    let result = (|| {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.write_all(request.as_bytes())?;
        read_response(&mut stream)
    })();
    match result {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Lost(err.to_string()),
    }
}

/// Reads a whole `Connection: close` response; a connection closed before the status line is
/// lost, not answered.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<Outcome> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Ok(Outcome::Lost(format!("no complete answer: {text:?}")));
    };
    let Some(status) = head.split(' ').nth(1).and_then(|s| s.parse().ok()) else {
        return Ok(Outcome::Lost(format!("no status line: {head:?}")));
    };
    Ok(Outcome::Answered {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

/// Registers a fresh user; its access token.
pub fn register(port: u16, prefix: &str) -> String {
    let body = serde_json::json!({
        "email": support::unique_email(prefix),
        "password": support::PASSWORD,
    });
    let answer = support::call(port, "POST", "/api/auth/register", None, Some(&body));
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json["accessToken"].as_str().unwrap().to_owned()
}

/// Runs one query on the SQLite file and returns the first column of every row, as text.
pub fn sqlite(database: &Path, sql: &str) -> Vec<String> {
    use sqlx::{Connection as _, Row as _};
    let url = format!("sqlite://{}?mode=rw", database.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
        let values = rows
            .iter()
            .map(|row| {
                row.try_get::<String, _>(0)
                    .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
                    .unwrap_or_default()
            })
            .collect();
        let _ = conn.close().await;
        values
    })
}

pub fn sqlite_count(database: &Path, sql: &str) -> i64 {
    sqlite(database, sql)
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{sql} returned no count"))
}

/// Polls `check` every 50 ms until it holds; false after `limit`.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// `GET /api/files/{id}/content` as bytes (HTTP/1.0, so the body is neither chunked nor kept
/// alive): the status and the body.
pub fn download(port: u16, token: &str, id: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "GET /api/files/{id}/content HTTP/1.0\r\nHost: 127.0.0.1\r\n{}\r\n\r\n",
        bearer(token)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw[split + 4..].to_vec())
}

pub const BOUNDARY: &str = "aios-chaos-boundary-7d1f";

/// The bytes of a test file: an MP4 header (so the upload sniffs as `video/mp4`, whose
/// processing only checks the checksum), then a pattern that depends on `seed`.
pub fn file_bytes(size: usize, seed: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8 ^ seed).collect();
    bytes[..12].copy_from_slice(b"\0\0\0\x18ftypisom");
    bytes
}

/// A multipart upload on a new connection, sent up to `send` bytes of `file`, then left for
/// the caller to finish (or not): the stream and the rest of the body.
pub fn start_upload(port: u16, token: &str, file: &[u8], send: usize) -> (TcpStream, Vec<u8>) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chaos.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let mut body = head.into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(tail.as_bytes());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let request = format!(
        "POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        bearer(token),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let send = send.min(body.len());
    stream.write_all(&body[..send]).unwrap();
    (stream, body[send..].to_vec())
}

/// A whole upload; the answer.
pub fn upload(port: u16, token: &str, file: &[u8]) -> Outcome {
    let (mut stream, rest) = start_upload(port, token, file, 0);
    // A server that refuses early may stop reading: its answer is still there to read.
    let written = stream.write_all(&rest);
    match read_response(&mut stream) {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Lost(format!("{err} (writing: {written:?})")),
    }
}
