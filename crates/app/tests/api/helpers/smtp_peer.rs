//! A real SMTP server for the mail tests: `tests/peers/smtp_server.py` (aiosmtpd), started as a
//! child process on a free port (or a given one) and stopped when the handle drops.
//!
//! The Python with aiosmtpd is `TEST_SMTP_PYTHON` (`.ci/run` installs it into
//! `target/ci-venv` and sets it), or else that venv when it exists. Without either the test is
//! skipped, or fails under `REQUIRE_SERVICES=1`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::require;

#[derive(Default, Clone)]
pub struct PeerOptions {
    /// Listen on this port instead of a free one (to come back where a client expects it).
    pub port: Option<u16>,
    /// `("starttls" | "implicit", certificate, key)`.
    pub tls: Option<(&'static str, PathBuf, PathBuf)>,
    /// `user:pass`: AUTH becomes mandatory.
    pub auth: Option<&'static str>,
    /// A recipient containing this gets `550 5.1.1`.
    pub reject_5xx: Option<&'static str>,
    /// A recipient containing this gets `451 4.3.0`.
    pub reject_4xx: Option<&'static str>,
}

pub struct SmtpPeer {
    _child: Child,
    _stdin: ChildStdin, // closing it tells the server to exit
    pub port: u16,
    maildir: TempDir,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TEST_SMTP_PYTHON").filter(|p| !p.is_empty()) {
        return Some(path.into());
    }
    let venv = manifest_dir().join("../../target/ci-venv/bin/python");
    venv.exists().then_some(venv)
}

/// A loopback port with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Whether the peer can run; false (after saying so) when the test must be skipped, and a
/// failure instead under `REQUIRE_SERVICES=1`.
pub fn available() -> bool {
    let how = "run .ci/run once, or set TEST_SMTP_PYTHON to a python with aiosmtpd";
    require("an SMTP server (aiosmtpd)", how, python().is_some())
}

impl SmtpPeer {
    /// `None` when the test must be skipped for want of aiosmtpd.
    pub async fn start(options: PeerOptions) -> Option<SmtpPeer> {
        let python = python();
        if !available() {
            return None;
        }
        let maildir = tempfile::tempdir().expect("maildir");
        let mut command = Command::new(python?);
        command
            .arg(manifest_dir().join("tests/peers/smtp_server.py"))
            .arg("--maildir")
            .arg(maildir.path())
            .args(["--port", &options.port.unwrap_or(0).to_string()]);
        if let Some((mode, cert, key)) = &options.tls {
            command.args(["--tls", mode]).arg("--cert").arg(cert);
            command.arg("--key").arg(key);
        }
        if let Some(auth) = options.auth {
            command.args(["--auth", auth]);
        }
        if let Some(pattern) = options.reject_5xx {
            command.args(["--reject-5xx", pattern]);
        }
        if let Some(pattern) = options.reject_4xx {
            command.args(["--reject-4xx", pattern]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start tests/peers/smtp_server.py");
        let stdin = child.stdin.take().expect("the peer's stdin");
        let stdout = child.stdout.take().expect("the peer's stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        tokio::time::timeout(Duration::from_secs(20), reader.read_line(&mut line))
            .await
            .expect("smtp_server.py did not start within 20 s")
            .expect("reading from smtp_server.py");
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from smtp_server.py: {line:?}"));
        Some(SmtpPeer {
            _child: child,
            _stdin: stdin,
            port,
            maildir,
        })
    }

    /// `SMTP_URL` for this peer, in plaintext (loopback only).
    pub fn plain_url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// What the server recorded of each message received, in arrival order: envelope, headers
    /// and the MIME parts as Python's own email package parsed them.
    pub fn messages(&self) -> Vec<Value> {
        (1..)
            .map(|n| self.maildir.path().join(format!("{n}.json")))
            .take_while(|p| p.exists())
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("message")).expect("JSON"))
            .collect()
    }

    /// The messages whose envelope recipient is `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m["rcpt_tos"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|a| a == to))
            })
            .collect()
    }

    /// Waits (up to 20 s) until `count` messages to `to` have arrived.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Value> {
        self.wait_for_within(to, count, Duration::from_secs(20))
            .await
    }

    pub async fn wait_for_within(&self, to: &str, count: usize, limit: Duration) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let found = self.messages_to(to);
            if found.len() >= count {
                return found;
            }
            assert!(
                started.elapsed() < limit,
                "{count} message(s) to {to} did not arrive within {limit:?}; got {:?}",
                self.messages()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The raw bytes of message `n` (1-based), as received.
    pub fn raw(&self, n: usize) -> String {
        let path = self.maildir.path().join(format!("{n}.eml"));
        String::from_utf8(std::fs::read(path).expect("raw message")).expect("ASCII message")
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u32 {
        std::fs::read_to_string(self.maildir.path().join("connections"))
            .map_or(0, |s| s.trim().parse().unwrap_or(0))
    }
}

/// The body of the MIME part of `message` with this content type, line ends normalised.
pub fn part(message: &Value, content_type: &str) -> String {
    message["parts"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["content_type"] == content_type))
        .and_then(|p| p["body"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"))
        .replace("\r\n", "\n")
}

/// A header of `message`, decoded.
pub fn header<'a>(message: &'a Value, name: &str) -> &'a str {
    message["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} header in {message}"))
}
