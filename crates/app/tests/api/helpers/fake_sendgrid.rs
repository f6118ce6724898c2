//! A local stand-in for `POST /v3/mail/send`: checks the bearer key and the documented body
//! shape like SendGrid does, then answers with scripted replies (default 202).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            ..Default::default()
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

struct Shared {
    key: String,
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeSendGrid {
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSendGrid {
    pub async fn start(key: &str) -> FakeSendGrid {
        let shared = Arc::new(Shared {
            key: key.to_owned(),
            replies: Mutex::default(),
            requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/v3/mail/send", post(handle))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSendGrid {
            base_url,
            shared,
            task,
        }
    }

    /// Queue the replies for the next requests that pass the key and body checks.
    pub fn reply(&self, reply: Reply) {
        self.shared.replies.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeSendGrid {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sendgrid_error(status: StatusCode, field: Option<&str>, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"message": message, "field": field}]})),
    )
        .into_response()
}

/// The checks SendGrid documents for a minimal body; the first failure answers 400.
fn body_problem(v: &Value) -> Option<(&'static str, &'static str)> {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .is_some_and(|x| !x.is_empty())
    };
    if !s("/personalizations/0/to/0/email") {
        return Some(("personalizations.0.to.0.email", "The to email is required"));
    }
    if !s("/from/email") {
        return Some(("from.email", "The from email is required"));
    }
    if !s("/subject") {
        return Some(("subject", "The subject is required"));
    }
    if v.pointer("/content/0/type") != Some(&json!("text/plain"))
        || v.pointer("/content/1/type") != Some(&json!("text/html"))
    {
        return Some(("content", "text/plain must come first, then text/html"));
    }
    None
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(Recorded {
        at: Instant::now(),
        authorization: text("authorization"),
        content_type: text("content-type"),
        body: json.clone(),
    });
    if text("authorization") != Some(format!("Bearer {}", shared.key)) {
        return sendgrid_error(
            StatusCode::UNAUTHORIZED,
            None,
            "The provided authorization grant is invalid, expired, or revoked",
        );
    }
    if let Some((field, message)) = body_problem(&json) {
        return sendgrid_error(StatusCode::BAD_REQUEST, Some(field), message);
    }
    let reply = shared
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Reply::status(202));
    tokio::time::sleep(reply.delay).await;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}
