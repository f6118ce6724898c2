//! The real services, when the environment names them: `TEST_DATABASE_URL` (PostgreSQL; each
//! test gets its own database) and `TEST_REDIS_URL`. With `REQUIRE_SERVICES=1`, tests that need
//! them fail instead of being skipped.

use std::sync::OnceLock;

use sqlx::Connection as _;
use uuid::Uuid;

pub struct Services {
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub required: bool,
}

pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| Services {
        database_url: std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        redis_url: std::env::var("TEST_REDIS_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        required: std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1"),
    })
}

/// Returns false (after saying so) when the test must be skipped for want of `what`; panics
/// instead when `REQUIRE_SERVICES=1`.
pub fn require_services(what: &str, available: bool) -> bool {
    require(what, "set TEST_DATABASE_URL / TEST_REDIS_URL", available)
}

/// [`require_services`] for any peer; `how` says how to provide it.
pub fn require(what: &str, how: &str, available: bool) -> bool {
    if available {
        return true;
    }
    assert!(
        !services().required,
        "REQUIRE_SERVICES=1 but {what} is not available ({how})"
    );
    eprintln!("skipped: needs {what} ({how})");
    false
}

/// A database created for one test, dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl TestDatabase {
    pub async fn create() -> Option<Self> {
        let admin_url = services().database_url.clone()?;
        let name = format!("aios_test_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        Some(Self {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}
