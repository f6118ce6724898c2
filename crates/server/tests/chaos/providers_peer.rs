//! A provider that misbehaves on cue, over plain HTTP/1.1 on a free port of 127.0.0.1: the
//! SendGrid v3 `mail/send` API and FCM HTTP v1 (its OAuth token endpoint and `messages:send`).
//! While its mode says so it holds requests without answering, resets connections, or answers
//! 500; once it accepts, it records what it accepted, so a test can say whether each message
//! arrived exactly once. The token endpoint always answers: the outage is the send API's.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Reads the request and never answers (the client's timeout ends it).
    Hang = 0,
    /// Closes the connection with unread bytes, which makes the kernel send a RST.
    Reset = 1,
    /// `500` with the provider's error shape.
    Fail = 2,
    Accept = 3,
}

impl Mode {
    fn from_u8(n: u8) -> Self {
        match n {
            0 => Mode::Hang,
            1 => Mode::Reset,
            2 => Mode::Fail,
            _ => Mode::Accept,
        }
    }
}

#[derive(Default)]
struct State {
    mode: AtomicU8,
    /// Requests refused, per mode (hang, reset, fail), and sends accepted.
    refused: [AtomicUsize; 3],
    /// One entry per accepted send: the recipient (mail) or `token|title` (push).
    accepted: Mutex<Vec<String>>,
}

pub struct FlakyProvider {
    pub base_url: String,
    state: Arc<State>,
}

impl FlakyProvider {
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        state.mode.store(mode as u8, Ordering::SeqCst);
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let state = shared.clone();
                std::thread::spawn(move || handle(stream, &state));
            }
        });
        Self { base_url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn accepted(&self) -> Vec<String> {
        self.state.accepted.lock().unwrap().clone()
    }

    /// Requests turned away while hanging, resetting and failing.
    pub fn refused(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.state.refused[i].load(Ordering::SeqCst))
    }
}

fn mode(state: &State) -> Mode {
    Mode::from_u8(state.mode.load(Ordering::SeqCst))
}

fn handle(mut stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let path_is_token = {
        // Peek at the request line without consuming the rest, so a reset still leaves
        // unread bytes behind.
        let mut first = [0u8; 64];
        let Ok(n) = stream.peek(&mut first) else {
            return;
        };
        String::from_utf8_lossy(&first[..n]).starts_with("POST /token")
    };
    let current = mode(state);
    if !path_is_token && current == Mode::Reset {
        state.refused[1].fetch_add(1, Ordering::SeqCst);
        let mut some = [0u8; 16];
        let _ = stream.read(&mut some);
        return; // dropped with the body unread: RST
    }
    let Some((path, body)) = read_request(&stream) else {
        return;
    };
    if path == "/token" {
        let grant =
            json!({"access_token": "ya29.chaos", "expires_in": 3599, "token_type": "Bearer"});
        return respond(&mut stream, 200, &grant);
    }
    match current {
        Mode::Hang => {
            state.refused[0].fetch_add(1, Ordering::SeqCst);
            let started = Instant::now();
            while mode(state) == Mode::Hang && started.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(50));
            }
            // Then closed without an answer: the client gave up long ago.
        }
        Mode::Reset | Mode::Fail => {
            state.refused[2].fetch_add(1, Ordering::SeqCst);
            let error = json!({"errors": [{"message": "internal error"}],
                "error": {"code": 500, "status": "INTERNAL", "message": "internal error"}});
            respond(&mut stream, 500, &error);
        }
        Mode::Accept => accept(&mut stream, state, &path, &body),
    }
}

fn accept(stream: &mut TcpStream, state: &State, path: &str, body: &Value) {
    if path == "/v3/mail/send" {
        let to = body
            .pointer("/personalizations/0/to/0/email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        state.accepted.lock().unwrap().push(to.to_owned());
        return respond(stream, 202, &Value::Null);
    }
    if path.ends_with("/messages:send") {
        let message = &body["message"];
        let token = message["token"].as_str().unwrap_or_default();
        let title = message
            .pointer("/notification/title")
            .or_else(|| message.pointer("/data/title"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut accepted = state.accepted.lock().unwrap();
        accepted.push(format!("{token}|{title}"));
        let name = format!("projects/chaos/messages/{}", accepted.len());
        drop(accepted);
        return respond(stream, 200, &json!({ "name": name }));
    }
    respond(stream, 404, &json!({"error": "no such endpoint"}));
}

/// The path and the JSON (or form) body of one request.
fn read_request(stream: &TcpStream) -> Option<(String, Value)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1)?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

fn respond(stream: &mut TcpStream, status: u16, body: &Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}
