//! The test harness: `TestApp::spawn()` starts the real application on a random port with a
//! fresh database (a SQLite file in a temporary directory, or, with `TEST_DATABASE_URL` set, a
//! PostgreSQL database created for the test and dropped after it) and calls it over HTTP.

pub mod certs;
pub mod fake_sendgrid;
pub mod files;
pub mod fixtures;
mod inbox;
mod logs;
mod moto;
pub mod peers;
mod postgres;
pub mod raw;
pub mod smtp_peer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aios_app::platform::mail::MemoryMailer;
use aios_app::{AppState, Config, Overrides, Server};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use uuid::Uuid;

pub use inbox::{token_in, token_in_text};
pub use logs::captured_logs;
pub use postgres::{TestDatabase, require, require_services, services};

pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub mailer: MemoryMailer,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data_dir: tempfile::TempDir,
    database: Option<postgres::TestDatabase>,
}

/// Builds a `TestApp` with extra environment variables and routes.
pub struct TestAppBuilder {
    vars: Vec<(String, String)>,
    extra: axum::Router,
    embedded: bool,
    jobs: aios_app::server::Jobs,
    configured_mailer: bool,
}

impl TestAppBuilder {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn route(mut self, router: axum::Router) -> Self {
        self.extra = self.extra.merge(router);
        self
    }

    /// Changes what the background workers run (the application's handlers, to start with).
    pub fn jobs(
        mut self,
        change: impl FnOnce(aios_app::server::Jobs) -> aios_app::server::Jobs,
    ) -> Self {
        self.jobs = change(self.jobs);
        self
    }

    /// Always SQLite, even when `TEST_DATABASE_URL` is set.
    pub fn embedded(mut self) -> Self {
        self.embedded = true;
        self
    }

    /// The mail transport the configuration names (`MAIL_TRANSPORT`), instead of the in-memory
    /// one that `wait_for_email` reads.
    pub fn configured_mailer(mut self) -> Self {
        self.configured_mailer = true;
        self
    }

    pub async fn spawn(self) -> TestApp {
        logs::init();
        // reqwest is built with rustls and no provider of its own (see platform/tls.rs).
        aios_app::platform::tls::install_default_provider();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut vars: Vec<(String, String)> = vec![
            ("APP_ENV".into(), "test".into()),
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "0".into()),
            ("DATA_DIR".into(), data_dir.path().display().to_string()),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            ("DATABASE_POOL_SIZE".into(), "5".into()),
            ("PASSWORD_HASH_CONCURRENCY".into(), "4".into()),
            // Tests send bursts from one address; the rate-limit tests lower these.
            ("RATE_LIMIT_ANON_PER_MIN".into(), "100000".into()),
            ("RATE_LIMIT_USER_PER_MIN".into(), "100000".into()),
            ("RATE_LIMIT_AUTH_PER_MIN".into(), "100000".into()),
        ];
        let database = if self.embedded {
            None
        } else {
            postgres::TestDatabase::create().await
        };
        if let Some(db) = &database {
            vars.push(("DATABASE_URL".into(), db.url.clone()));
        }
        if let (false, Some(redis)) = (self.embedded, services().redis_url.as_ref()) {
            vars.push(("REDIS_URL".into(), redis.clone()));
            vars.push((
                "REDIS_PREFIX".into(),
                format!("test:{}:", Uuid::new_v4().simple()),
            ));
        }
        vars.extend(self.vars);
        let config = Config::from_vars(vars).expect("test configuration");
        let mailer = MemoryMailer::default();
        let overrides = Overrides {
            mailer: (!self.configured_mailer).then(|| Arc::new(mailer.clone()) as _),
        };
        let state = AppState::build(config, overrides)
            .await
            .expect("application state");
        aios_app::users::admin::bootstrap(&state)
            .await
            .expect("admin bootstrap");
        let server = Server::bind_with(state.clone(), self.extra)
            .await
            .expect("bind")
            .with_jobs(self.jobs);
        let addr = server.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        TestApp {
            base: format!("http://{addr}"),
            addr,
            client,
            state,
            mailer,
            shutdown: Some(tx),
            server: Some(handle),
            _data_dir: data_dir,
            database,
        }
    }
}

/// A response with its body read: `json` is `Null` when the body is not JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The contract's error code, if this is an error body.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error in the contract's format with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        assert!(
            self.json["error"].is_string(),
            "error message missing: {}",
            self.text
        );
        assert!(
            self.json["requestId"].is_string(),
            "requestId missing: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "errors are JSON"
        );
        self
    }

    /// The `path`s in `details`.
    pub fn detail_paths(&self) -> Vec<String> {
        self.json["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|e| e["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.inner = self.inner.bearer_auth(token);
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.inner = self.inner.json(body);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.header(name, value);
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.inner = self.inner.header("content-type", content_type).body(body);
        self
    }

    pub async fn send(self) -> TestResponse {
        let _ = self.app;
        let response = self.inner.send().await.expect("request failed");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            json,
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            vars: Vec::new(),
            extra: axum::Router::new(),
            embedded: false,
            jobs: aios_app::server::Jobs::default(),
            configured_mailer: false,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            inner: self.client.request(method, self.url(path)),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    /// Registers a new user with a unique email.
    pub async fn register(&self) -> TestUser {
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        self.register_as(&email, PASSWORD).await
    }

    pub async fn register_as(&self, email: &str, password: &str) -> TestUser {
        let response = self
            .post("/api/auth/register")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await;
        response.assert_status(201);
        TestUser::from_tokens(&response.json, email, password)
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post("/api/auth/login")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
    }

    /// A failed login for a fresh address: counts in the per-IP tier only.
    pub async fn login_as_stranger(&self) -> TestResponse {
        let email = format!("stranger-{}@example.com", Uuid::new_v4().simple());
        self.login(&email, "wrong password").await
    }

    /// An administrator, created directly through the service the CLI uses.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
        aios_app::users::admin::create(&self.state, &email, PASSWORD.to_owned().into())
            .await
            .expect("create admin");
        let response = self.login(&email, PASSWORD).await;
        response.assert_status(200);
        TestUser::from_tokens(&response.json, &email, PASSWORD)
    }

    /// Stops the server as SIGTERM would, and waits for it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            handle.abort();
        }
    }
}

impl TestUser {
    pub fn from_tokens(body: &Value, email: &str, password: &str) -> Self {
        Self {
            id: body["user"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("user id in token response"),
            email: email.to_owned(),
            password: password.to_owned(),
            access: body["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_owned(),
            refresh: body["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_owned(),
        }
    }
}
