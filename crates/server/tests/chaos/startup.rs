//! Start-up while PostgreSQL or Redis is down: the process is live at once and not ready, and
//! it serves normally once the dependency comes, without a restart (within
//! `DATABASE_CONNECT_TIMEOUT_SECS`, which bounds both waits).

use std::time::{Duration, Instant};

use crate::client::{self, Exchange, Summary, examples};
use crate::gate::{self, SERVER_VARS};
use crate::pg_cluster::{PgCluster, StopMode};
use crate::redis_server::RedisServer;
use crate::rig;
use crate::support::postgres::TestDatabase;
use crate::support::{Cluster, Spawned, free_port, unique_email};

/// The start-up retries back off up to 5 s between attempts; the rest is slack for a loaded
/// machine.
const COMES_UP: Duration = Duration::from_secs(15);

/// Starts `serve` on a free port, without waiting for it (it is not ready).
fn spawn_serve(cluster: &Cluster) -> (Spawned, u16) {
    let port = free_port();
    let spawned = Spawned::start(
        cluster
            .command()
            .arg("serve")
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("DATABASE_CONNECT_TIMEOUT_SECS", "300"),
    );
    (spawned, port)
}

/// Waits until `/health/live` answers 200, failing if the process exits first.
fn wait_until_live(spawned: &mut Spawned, port: u16) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if client::send(port, "GET", "/health/live", &[], None).succeeded() {
            return started.elapsed();
        }
        if let Ok(Some(status)) = spawned.child.try_wait() {
            panic!(
                "the server exited while a dependency was down: {status}\n{}",
                spawned.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("/health/live never answered\n{}", spawned.log());
}

/// Probes while the dependency is down: live 200, ready 503, the API 503 with Retry-After.
fn assert_live_not_ready(port: u16, lasting: Duration, scenario: &str) {
    let probes = rig::probe_until(
        port,
        &["/health/live", "/health/ready", "/api/data"],
        Instant::now() + lasting,
    );
    let of = |path: &str| Summary::of(probes.iter().filter(|p| p.path == path));
    let (live, ready, api) = (of("/health/live"), of("/health/ready"), of("/api/data"));
    rig::report(scenario, "/health/live while down", &live);
    rig::report(scenario, "/health/ready while down", &ready);
    rig::report(scenario, "/api/data while down", &api);
    assert_eq!(live.ok, live.total, "live: {live}");
    assert_eq!(ready.unavailable, ready.total, "ready is 503: {ready}");
    assert_eq!(
        api.unavailable,
        api.total,
        "the API is 503: {api}\n{}",
        examples(&probes, |e: &Exchange| e.path == "/api/data"
            && e.status() != Some(503))
    );
    assert_eq!(api.unavailable_without_retry_after, 0, "with Retry-After");
}

/// Waits until ready, then registers and writes: the time from `since`.
fn time_to_serve(port: u16, since: Instant, spawned: &Spawned) -> Duration {
    while since.elapsed() < COMES_UP * 2 {
        if client::send(port, "GET", "/health/ready", &[], None).succeeded() {
            let served = since.elapsed();
            let body = serde_json::json!({
                "email": unique_email("chaos-start"), "password": crate::support::PASSWORD
            });
            let registered = client::send(
                port,
                "POST",
                "/api/auth/register",
                &[],
                Some(&body.to_string()),
            );
            assert_eq!(registered.status(), Some(201), "{}", registered.body);
            return served;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("never ready after the dependency came\n{}", spawned.log());
}

#[test]
fn startup_with_postgres_down_is_live_not_ready_then_serves_once_it_comes() {
    if !gate::may_run("startup_with_postgres_down", &["initdb", "pg_ctl"]) {
        return;
    }
    let _serial = gate::serial();
    let database = PgCluster::start();
    let cluster = Cluster::new(Some(&database.url()), SERVER_VARS);
    database.stop(StopMode::Fast);
    let (mut spawned, port) = spawn_serve(&cluster);
    let live_after = wait_until_live(&mut spawned, port);
    assert_live_not_ready(
        port,
        gate::lasting(Duration::from_secs(3), Duration::from_secs(20)),
        "startup-pg-down",
    );
    database.start_again();
    let came = Instant::now();
    let served = time_to_serve(port, came, &spawned);
    rig::report(
        "startup-pg-down",
        "start-up",
        format!(
            "live {} ms after spawn; ready and serving {} ms after PostgreSQL came",
            live_after.as_millis(),
            served.as_millis()
        ),
    );
    assert!(served < COMES_UP, "served {served:?} after PostgreSQL came");
}

#[test]
fn startup_with_redis_down_is_live_not_ready_then_serves_once_it_comes() {
    if !gate::may_run("startup_with_redis_down", &["redis-server"]) {
        return;
    }
    let _serial = gate::serial();
    let mut redis = RedisServer::not_started();
    let database = TestDatabase::create().expect("TEST_DATABASE_URL is set");
    let redis_url: &'static str = Box::leak(redis.url().into_boxed_str());
    let mut vars = SERVER_VARS.to_vec();
    vars.push(("REDIS_URL", redis_url));
    let cluster = Cluster::new(Some(&database.url), &vars);
    let (mut spawned, port) = spawn_serve(&cluster);
    let live_after = wait_until_live(&mut spawned, port);
    assert_live_not_ready(
        port,
        gate::lasting(Duration::from_secs(3), Duration::from_secs(20)),
        "startup-redis-down",
    );
    redis.start_again();
    let came = Instant::now();
    let served = time_to_serve(port, came, &spawned);
    let health = client::send(port, "GET", "/health", &[], None);
    rig::report(
        "startup-redis-down",
        "start-up",
        format!(
            "live {} ms after spawn; ready and serving {} ms after Redis came",
            live_after.as_millis(),
            served.as_millis()
        ),
    );
    assert!(served < COMES_UP, "served {served:?} after Redis came");
    assert!(
        health.body.contains("\"redis\":\"connected\""),
        "{}",
        health.body
    );
}
