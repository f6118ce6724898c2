//! Several `serve` processes on one PostgreSQL database and no Redis, as production may run
//! them: what one instance revokes, every other refuses within a second.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::postgres::{TestDatabase, database_url, require_services};
use support::{SECRET, Served, aios, text, time_until_refused, unique_email};

/// What an instance logs once its revocation listener is subscribed.
const LISTENING: &str = "listening for session revocations";

fn instance(db: &TestDatabase, dir: &std::path::Path) -> Command {
    let mut command = aios(dir);
    command
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", SECRET)
        .env("LOG_LEVEL", "info")
        .env("DATABASE_POOL_SIZE", "4")
        .env("RATE_LIMIT_ANON_PER_MIN", "100000")
        .env("RATE_LIMIT_USER_PER_MIN", "100000")
        .env("RATE_LIMIT_AUTH_PER_MIN", "100000");
    command
}

fn database() -> Option<TestDatabase> {
    if !require_services("PostgreSQL", database_url().is_some()) {
        return None;
    }
    TestDatabase::create()
}

/// Logs in through `a`, has `b` see the session live, logs out through `a`: `b` must refuse.
fn logout_through_a_reaches_b(a: &Served, b: &Served) {
    let access = a.register(&unique_email("multi"));
    let seen = b.call("GET", "/api/users/me", Some(&access), None);
    assert_eq!(seen.status, 200, "{}", seen.text);
    let logout = a.call("POST", "/api/auth/logout", Some(&access), None);
    assert_eq!(logout.status, 204, "{}", logout.text);
    let took = time_until_refused(b.port, &access, Duration::from_secs(1));
    assert!(
        took.is_some(),
        "instance B still accepts the token a second after the logout"
    );
}

#[test]
fn a_logout_through_one_instance_is_refused_by_another_within_a_second() {
    let Some(db) = database() else { return };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Served::start(&mut instance(&db, dir_a.path()));
    let b = Served::start(&mut instance(&db, dir_b.path()));
    // At once after start-up, whether or not B's listener is connected yet.
    logout_through_a_reaches_b(&a, &b);
    assert!(
        b.wait_for_log(LISTENING, 1, Duration::from_secs(10)),
        "B never listened: {}",
        b.log()
    );
    for _ in 0..3 {
        logout_through_a_reaches_b(&a, &b);
    }
    // Logout-all and a password change reach B as well.
    let email = unique_email("all");
    let first = a.register(&email);
    let second = a.login(&email).json["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&first, &second] {
        assert_eq!(
            b.call("GET", "/api/users/me", Some(token), None).status,
            200
        );
    }
    let change =
        json!({ "currentPassword": support::PASSWORD, "newPassword": "another long passphrase" });
    let changed = a.call(
        "POST",
        "/api/auth/change-password",
        Some(&first),
        Some(&change),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert!(time_until_refused(b.port, &second, Duration::from_secs(1)).is_some());
    assert_eq!(
        b.call("GET", "/api/users/me", Some(&first), None).status,
        200
    );
    let all = a.call("POST", "/api/auth/logout-all", Some(&first), None);
    assert_eq!(all.status, 204, "{}", all.text);
    assert!(time_until_refused(b.port, &first, Duration::from_secs(1)).is_some());
}

#[test]
fn an_instance_whose_listener_is_cut_off_answers_from_the_database_until_it_listens_again() {
    let Some(db) = database() else { return };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Served::start(&mut instance(&db, dir_a.path()));
    let b = Served::start(&mut instance(&db, dir_b.path()));
    assert!(
        b.wait_for_log(LISTENING, 1, Duration::from_secs(10)),
        "{}",
        b.log()
    );
    let access = a.register(&unique_email("cut"));
    assert_eq!(
        b.call("GET", "/api/users/me", Some(&access), None).status,
        200
    );

    // The listeners lose their connections and cannot open new ones; the pools keep theirs.
    db.admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false");
    db.admin(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
         WHERE datname = '{db}' AND application_name = 'aios-server listener'",
    );
    let logout = a.call("POST", "/api/auth/logout", Some(&access), None);
    assert_eq!(logout.status, 204, "{}", logout.text);
    assert!(
        time_until_refused(b.port, &access, Duration::from_secs(1)).is_some(),
        "B answered from its cache while it could not hear revocations"
    );

    // Once B listens again, what it cached before the cut is gone too.
    let other = a.register(&unique_email("cached"));
    db.admin("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true");
    assert!(
        b.wait_for_log(LISTENING, 2, Duration::from_secs(15)),
        "{}",
        b.log()
    );
    let seen = b.call("GET", "/api/users/me", Some(&access), None);
    assert_eq!(seen.status, 401, "{}", seen.text);
    assert_eq!(
        b.call("GET", "/api/users/me", Some(&other), None).status,
        200
    );
}

#[test]
fn admin_promote_reaches_a_running_instance_within_a_second() {
    let Some(db) = database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&mut instance(&db, dir.path()));
    assert!(
        server.wait_for_log(LISTENING, 1, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let email = unique_email("promote");
    let access = server.register(&email);
    let before = server.call("GET", "/api/users", Some(&access), None);
    assert_eq!(before.status, 403, "{}", before.text);
    let promoted = instance(&db, dir.path())
        .args(["admin", "promote", &email])
        .output()
        .unwrap();
    assert!(promoted.status.success(), "{}", text(&promoted));
    let started = std::time::Instant::now();
    let status = loop {
        let status = server.call("GET", "/api/users", Some(&access), None).status;
        if status != 403 || started.elapsed() > Duration::from_secs(1) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status, 200, "the running session is still a plain user");
}
