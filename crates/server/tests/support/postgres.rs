//! PostgreSQL for the tests of the binary, as the `api` tests have it: `TEST_DATABASE_URL`
//! names a server where each test creates its own database; without it such tests skip, and
//! with `REQUIRE_SERVICES=1` they fail instead.

use sqlx::Connection as _;

pub fn database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Returns false (after saying so) when the test must be skipped for want of `what`; panics
/// instead when `REQUIRE_SERVICES=1`.
pub fn require_services(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    let required = std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "REQUIRE_SERVICES=1 but {what} is not available (set TEST_DATABASE_URL)"
    );
    eprintln!("skipped: needs {what} (set TEST_DATABASE_URL)");
    false
}

/// A database created for one test, dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    pub name: String,
    admin_url: String,
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
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

/// Runs one statement through `url` (the tests are synchronous: a runtime per call).
fn execute(url: &str, sql: String) -> Result<(), sqlx::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(sqlx::Error::Io)?;
    runtime.block_on(async move {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let result = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        result.map(|_| ())
    })
}

impl TestDatabase {
    pub fn create() -> Option<Self> {
        let admin_url = database_url()?;
        let name = format!("aios_test_{}", uuid::Uuid::new_v4().simple());
        execute(&admin_url, format!("CREATE DATABASE \"{name}\""))
            .expect("create the test database");
        Some(Self {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    /// Runs `sql` from outside this database (it may name it, e.g. `ALTER DATABASE`).
    pub fn admin(&self, sql: &str) {
        execute(&self.admin_url, sql.replace("{db}", &self.name)).expect(sql);
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin_url,
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}
