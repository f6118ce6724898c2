//! Redis frozen (`kill -STOP`), then killed, under load: the cache falls back to the database,
//! rate limits fail open (as README and ARCHITECTURE document), a logged-out token is refused
//! during and after the outage, jobs are kept, and nothing is stale afterwards.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{self, Exchange, Load, Shape, Summary, examples};
use crate::gate::{self, SERVER_VARS};
use crate::redis_server::RedisServer;
use crate::rig::{self, Rig};
use crate::support::postgres::TestDatabase;
use crate::support::unique_email;

/// Anonymous `/api` calls per minute: low, so the test can spend it and see the limiter.
const ANON_BUDGET: usize = 20;
/// The client address of the calls that spend the anonymous budget (with `TRUST_PROXY`), so
/// that the test's other anonymous calls (logins, a revoked token) keep theirs.
const SPENDER: (&str, &str) = ("X-Forwarded-For", "203.0.113.7");

/// Calls admitted beyond the budget right after Redis is back: the first call or two may still
/// find the connection being re-established and fail open, and the budget refills one call
/// per 3 s while the test spends it.
const RECONNECT_SLACK: usize = 3;

fn anonymous_call(rig: &Rig) -> Exchange {
    client::send(rig.port(), "GET", "/api/openapi.json", &[SPENDER], None)
}

fn json_call(rig: &Rig, method: &str, path: &str, token: &str, body: Option<&Value>) -> Exchange {
    let bearer = format!("Bearer {token}");
    let body = body.map(Value::to_string);
    client::send(
        rig.port(),
        method,
        path,
        &[("Authorization", &bearer)],
        body.as_deref(),
    )
}

fn json_of(exchange: &Exchange) -> Value {
    serde_json::from_str(&exchange.body).unwrap_or(Value::Null)
}

/// Another session of the rig's user (logged in before the anonymous budget is spent).
fn new_session(rig: &Rig) -> String {
    let login = rig.server.login(&rig.email);
    assert_eq!(login.status, 200, "{}", login.text);
    login.json["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned()
}

/// Uses `token` so that its session's liveness is in the cache when the outage starts.
fn cache_session(rig: &Rig, token: &str) {
    assert_eq!(
        json_call(rig, "GET", "/api/users/me", token, None).status(),
        Some(200)
    );
}

/// While Redis is out: logging out `token` (a session cached before the outage) works and the
/// token is refused at once; an update is read back.
fn revoke_and_update_during_outage(rig: &Rig, token: &str, item: &str, name: &str, phase: &str) {
    let logout = json_call(rig, "POST", "/api/auth/logout", token, None);
    assert_eq!(
        logout.status(),
        Some(204),
        "{phase}: logout works: {}",
        logout.body
    );
    let refused = json_call(rig, "GET", "/api/users/me", token, None);
    assert_eq!(
        refused.status(),
        Some(401),
        "{phase}: a logged-out token is refused"
    );
    let replaced = json_call(rig, "PUT", item, &rig.token, Some(&json!({ "name": name })));
    assert_eq!(replaced.status(), Some(200), "{phase}: {}", replaced.body);
    let read = json_call(rig, "GET", item, &rig.token, None);
    assert_eq!(
        json_of(&read)["name"],
        name,
        "{phase}: the update is read back"
    );
    rig::report(
        phase,
        "latencies during the outage",
        format!(
            "logout {} ms, refused token {} ms, update {} ms, read {} ms",
            logout.latency.as_millis(),
            refused.latency.as_millis(),
            replaced.latency.as_millis(),
            read.latency.as_millis()
        ),
    );
}

/// After the outage: the logged-out token is still refused and the item is not stale.
fn nothing_stale(rig: &Rig, revoked: &str, item: &str, name: &str, phase: &str) {
    let refused = json_call(rig, "GET", "/api/users/me", revoked, None);
    assert_eq!(
        refused.status(),
        Some(401),
        "{phase}: the token logged out during the outage stays refused: {}",
        refused.body
    );
    let read = json_call(rig, "GET", item, &rig.token, None);
    assert_eq!(
        json_of(&read)["name"],
        name,
        "{phase}: the cache serves no stale item"
    );
}

/// Anonymous calls until the first 429 (the budget is `ANON_BUDGET`); how many were admitted.
/// Panics if no 429 comes within three budgets: the limiter does not count.
fn spend_anonymous_budget(rig: &Rig) -> usize {
    for admitted in 0..ANON_BUDGET * 3 {
        if anonymous_call(rig).status() == Some(429) {
            return admitted;
        }
    }
    panic!("the anonymous budget of {ANON_BUDGET} never ran out");
}

fn wait_for_mail_to(rig: &Rig, email: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let listed = client::send(rig.port(), "GET", "/dev/mail", &[], None);
        let found = json_of(&listed)["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|m| m["to"] == email));
        if found {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn wait_for_redis_status(rig: &Rig, status: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let health = client::send(rig.port(), "GET", "/health", &[], None);
        if json_of(&health)["redis"] == status {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn redis_frozen_then_killed_under_load_fails_closed_for_sessions_and_loses_nothing() {
    if !gate::may_run("redis_frozen_then_killed", &["redis-server"]) {
        return;
    }
    let _serial = gate::serial();
    let mut redis = RedisServer::start();
    let database = TestDatabase::create().expect("TEST_DATABASE_URL is set");
    let redis_url: &'static str = Box::leak(redis.url().into_boxed_str());
    let anon_budget: &'static str = Box::leak(ANON_BUDGET.to_string().into_boxed_str());
    let mut vars = SERVER_VARS.to_vec();
    vars.extend([
        ("REDIS_URL", redis_url),
        ("RATE_LIMIT_ANON_PER_MIN", anon_budget),
        ("TRUST_PROXY", "true"),
        ("APP_ENV", "development"),
        ("APP_URL", "http://localhost:5173"),
    ]);
    let rig = Rig::start(&database.url, &vars);
    let outage = gate::lasting(Duration::from_secs(6), Duration::from_secs(20));

    let created = json_call(
        &rig,
        "POST",
        "/api/data",
        &rig.token,
        Some(&json!({ "name": "v1" })),
    );
    assert_eq!(created.status(), Some(201), "{}", created.body);
    let item = format!(
        "/api/data/{}",
        json_of(&created)["id"].as_str().expect("an id")
    );
    assert_eq!(
        json_of(&json_call(&rig, "GET", &item, &rig.token, None))["name"],
        "v1"
    );
    let revoked_while_frozen = new_session(&rig);
    let revoked_while_killed = new_session(&rig);
    let before = spend_anonymous_budget(&rig);
    assert!(
        before <= ANON_BUDGET,
        "the limiter admits at most its budget: {before}"
    );

    let tag = "redis";
    let shape = Shape {
        read_paths: vec![
            item.clone(),
            "/api/users/me".to_owned(),
            "/api/data?limit=5".to_owned(),
        ],
        ..Shape::default()
    };
    let load = Load::start(rig.port(), &rig.token, tag, &shape);
    std::thread::sleep(Duration::from_secs(1));

    // Frozen: every Redis call waits for its 500 ms response timeout.
    cache_session(&rig, &revoked_while_frozen);
    let frozen_at = Instant::now();
    redis.freeze();
    // The budget was spent a second ago and refills one call per 3 s: five admitted calls
    // show the limiter failing open, as documented, rather than a refill.
    let anonymous: Vec<Exchange> = (0..5).map(|_| anonymous_call(&rig)).collect();
    assert!(
        anonymous.iter().all(Exchange::succeeded),
        "the limiter fails open while Redis is out: {}",
        examples(&anonymous, |e| !e.succeeded())
    );
    revoke_and_update_during_outage(&rig, &revoked_while_frozen, &item, "v2", "redis-frozen");
    let mail_user = unique_email("chaos-mail");
    rig.server.register(&mail_user);
    let health = client::send(rig.port(), "GET", "/health", &[], None);
    assert_eq!(health.status(), Some(200), "{}", health.body);
    assert_eq!(json_of(&health)["status"], "degraded", "{}", health.body);
    std::thread::sleep((frozen_at + outage).saturating_duration_since(Instant::now()));
    redis.thaw();
    let thawed = Instant::now();
    let reconnected = wait_for_redis_status(&rig, "connected", Duration::from_secs(30));
    nothing_stale(&rig, &revoked_while_frozen, &item, "v2", "redis-thawed");
    let mailed = wait_for_mail_to(&rig, &mail_user, Duration::from_secs(60));
    rig::report(
        "redis-frozen",
        "after the thaw",
        format!(
            "/health redis connected after {reconnected:?}; the mail of the registration during the freeze sent {mailed:?} after"
        ),
    );
    assert!(reconnected.is_some(), "the server reconnects to Redis");
    assert!(mailed.is_some(), "the job enqueued during the freeze ran");
    let admitted = spend_anonymous_budget(&rig);
    assert!(
        admitted <= ANON_BUDGET + RECONNECT_SLACK,
        "the limiter counts again after the thaw: {admitted}"
    );

    // Killed: connections are refused; the new server is empty.
    cache_session(&rig, &revoked_while_killed);
    let killed_at = Instant::now();
    redis.kill();
    revoke_and_update_during_outage(&rig, &revoked_while_killed, &item, "v3", "redis-killed");
    std::thread::sleep((killed_at + outage).saturating_duration_since(Instant::now()));
    redis.start_again();
    let restarted = Instant::now();
    let reconnected = wait_for_redis_status(&rig, "connected", Duration::from_secs(30));
    nothing_stale(&rig, &revoked_while_killed, &item, "v3", "redis-restarted");
    nothing_stale(&rig, &revoked_while_frozen, &item, "v3", "redis-restarted");
    rig::report(
        "redis-killed",
        "after the restart",
        format!("/health redis connected after {reconnected:?}"),
    );
    assert!(
        reconnected.is_some(),
        "the server reconnects to the new Redis"
    );
    let admitted = spend_anonymous_budget(&rig);
    assert!(
        admitted <= ANON_BUDGET + RECONNECT_SLACK,
        "the limiter counts again after the restart: {admitted}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let record = load.finish();

    let everything = Summary::of(rig::all(&record));
    let frozen = rig::window(&record, frozen_at, thawed);
    let killed = rig::window(&record, killed_at, restarted);
    rig::report(tag, "whole run", &everything);
    rig::report("redis-frozen", "load during the freeze", &frozen);
    rig::report("redis-killed", "load while killed", &killed);
    assert!(rig.process_runs());
    assert_eq!(
        everything.ok,
        everything.total,
        "a Redis outage costs speed, not availability: {everything}\n{}",
        examples(rig::all(&record), |e| !e.succeeded())
    );
    let settled = rig.assert_nothing_lost(&record, tag);
    rig::report(tag, "writes (nothing lost)", &settled);
}
