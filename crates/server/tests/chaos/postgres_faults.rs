//! PostgreSQL stopped, its backends terminated, and frozen, all under load.

use std::time::{Duration, Instant};

use crate::client::{Load, Shape, Summary, examples};
use crate::gate::{self, SERVER_VARS};
use crate::pg_cluster::{PgCluster, StopMode};
use crate::rig::{self, Rig};

const TOOLS: &[&str] = &["initdb", "pg_ctl"];

/// The bound on a 503: the pool's acquire timeout is 3 s; the rest is slack for a loaded 2-core
/// machine, where a thread may wait seconds for a core. A hang would take the 10 s request
/// deadline (a 504) or the client's 20 s.
const PROMPT_FAILURE: Duration = Duration::from_secs(8);
/// Issue 15: service recovers by itself within 10 s of the restart.
const RECOVERY: Duration = Duration::from_secs(10);

fn start() -> (PgCluster, Rig) {
    let cluster = PgCluster::start();
    let rig = Rig::start(&cluster.url(), SERVER_VARS);
    (cluster, rig)
}

#[test]
fn postgres_stopped_fast_then_immediate_under_load_loses_nothing() {
    if !gate::may_run("postgres_stopped", TOOLS) {
        return;
    }
    let _serial = gate::serial();
    let (cluster, rig) = start();
    let outage = gate::lasting(Duration::from_secs(8), Duration::from_secs(15));
    for mode in [StopMode::Fast, StopMode::Immediate] {
        let tag = format!("stop-{mode:?}").to_lowercase();
        let load = Load::start(rig.port(), &rig.token, &tag, &Shape::default());
        std::thread::sleep(Duration::from_secs(2));

        let stopped_at = Instant::now();
        cluster.stop(mode);
        let probes = rig::probe_until(
            rig.port(),
            &["/health/ready", "/health/live"],
            stopped_at + outage,
        );
        cluster.start_again();
        let restarted = Instant::now();
        let recovered = rig::time_to_recover(&rig, restarted, Duration::from_secs(30));
        std::thread::sleep(Duration::from_secs(2));
        let record = load.finish();

        let everything = Summary::of(rig::all(&record));
        let during = rig::window(&record, stopped_at, restarted);
        let ready = Summary::of(probes.iter().filter(|p| p.path == "/health/ready"));
        let live = Summary::of(probes.iter().filter(|p| p.path == "/health/live"));
        let clients_recovered = rig::last_failure_after(&rig::all(&record), restarted);
        rig::report(&tag, "whole run", &everything);
        rig::report(&tag, "during the outage", &during);
        rig::report(&tag, "/health/ready during the outage", &ready);
        rig::report(&tag, "/health/live during the outage", &live);
        rig::report(
            &tag,
            "recovery after the restart",
            format!(
                "probe {recovered:?}, load's last failure ended {} ms after the restart",
                clients_recovered.as_millis()
            ),
        );

        assert!(rig.process_runs(), "the server process stays up");
        assert_eq!(live.ok, live.total, "/health/live stays 200: {live}");
        assert!(ready.unavailable > 0, "/health/ready turns 503: {ready}");
        assert!(during.unavailable > 0, "the load saw 503s: {during}");
        let failed_badly =
            |e: &crate::client::Exchange| e.status().is_none_or(|s| s >= 500 && s != 503);
        assert_eq!(
            everything.other_server_errors
                + everything.timeouts_504
                + everything.transport_failures,
            0,
            "only 503s, no 500, hang or reset: {everything}\n{}\n{}",
            examples(rig::all(&record), failed_badly),
            rig.failures_logged()
        );
        assert_eq!(
            everything.unavailable_without_retry_after, 0,
            "503s carry Retry-After"
        );
        assert!(
            everything.max_failure_latency < PROMPT_FAILURE,
            "503 within the connect timeout: {everything}"
        );
        let recovered = recovered.expect("the service recovers without a restart");
        assert!(
            recovered < RECOVERY,
            "recovered {recovered:?} after the restart"
        );
        assert!(
            clients_recovered < RECOVERY,
            "clients saw failures until {clients_recovered:?}"
        );

        let settled = rig.assert_nothing_lost(&record, &tag);
        rig::report(&tag, "writes (nothing lost)", &settled);
    }
}

#[test]
fn postgres_backends_terminated_then_frozen_answer_503_and_spare_routes_without_database() {
    if !gate::may_run("postgres_terminated_and_frozen", TOOLS) {
        return;
    }
    let _serial = gate::serial();
    let (cluster, rig) = start();

    // pg_terminate_backend of every connection the server has, three times under load.
    let tag = "terminated";
    let load = Load::start(rig.port(), &rig.token, tag, &Shape::default());
    std::thread::sleep(Duration::from_secs(1));
    let mut terminated = 0;
    for _ in 0..3 {
        terminated += cluster.terminate_app_backends();
        std::thread::sleep(Duration::from_secs(1));
    }
    let record = load.finish();
    let summary = Summary::of(rig::all(&record));
    rig::report(tag, &format!("{terminated} backends terminated"), &summary);
    assert!(terminated > 0, "the server had connections to terminate");
    assert_eq!(
        summary.other_server_errors + summary.timeouts_504 + summary.transport_failures,
        0,
        "a terminated connection is a 503 at worst: {summary}\n{}\n{}",
        examples(rig::all(&record), |e| e
            .status()
            .is_none_or(|s| s >= 500 && s != 503)),
        rig.failures_logged()
    );
    assert_eq!(summary.unavailable_without_retry_after, 0);
    let settled = rig.assert_nothing_lost(&record, tag);
    rig::report(tag, "writes (nothing lost)", &settled);

    // Writers waiting on a lock when their backends are terminated: PostgreSQL answers the
    // waiting statement with FATAL 57P01 (admin_shutdown), an error of the database rather than
    // of the connection, which must still be a 503.
    let tag = "terminated-waiting";
    let load = Load::start(rig.port(), &rig.token, tag, &Shape::default());
    std::thread::sleep(Duration::from_secs(1));
    let lock = cluster.lock_table("items");
    std::thread::sleep(Duration::from_millis(1500));
    let waiting = cluster.terminate_app_backends();
    drop(lock);
    std::thread::sleep(Duration::from_secs(1));
    let record = load.finish();
    let summary = Summary::of(rig::all(&record));
    rig::report(
        tag,
        &format!("{waiting} backends terminated while waiting on a lock"),
        &summary,
    );
    assert_eq!(
        summary.other_server_errors + summary.timeouts_504 + summary.transport_failures,
        0,
        "a statement ended by pg_terminate_backend is a 503: {summary}\n{}\n{}",
        examples(rig::all(&record), |e| e
            .status()
            .is_none_or(|s| s >= 500 && s != 503)),
        rig.failures_logged()
    );
    assert!(
        summary.unavailable > 0,
        "the waiting writers got 503s: {summary}"
    );
    let settled = rig.assert_nothing_lost(&record, tag);
    rig::report(tag, "writes (nothing lost)", &settled);

    // kill -STOP of every PostgreSQL process: connections hang instead of failing.
    let tag = "frozen";
    let frozen_for = gate::lasting(Duration::from_secs(8), Duration::from_secs(15));
    let load = Load::start(rig.port(), &rig.token, tag, &Shape::default());
    std::thread::sleep(Duration::from_secs(1));
    let frozen_at = Instant::now();
    cluster.freeze();
    let no_database = ["/health/live", "/api/openapi.json", "/docs"];
    let mut paths = vec!["/health/ready"];
    paths.extend(no_database);
    let probes = rig::probe_until(rig.port(), &paths, frozen_at + frozen_for);
    cluster.thaw();
    let thawed = Instant::now();
    let recovered = rig::time_to_recover(&rig, thawed, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let record = load.finish();

    let during = rig::window(&record, frozen_at, thawed);
    let everything = Summary::of(rig::all(&record));
    let ready = Summary::of(probes.iter().filter(|p| p.path == "/health/ready"));
    let spared = Summary::of(
        probes
            .iter()
            .filter(|p| no_database.contains(&p.path.as_str())),
    );
    let clients_recovered = rig::last_failure_after(&rig::all(&record), thawed);
    rig::report(tag, "whole run", &everything);
    rig::report(tag, "during the freeze", &during);
    rig::report(tag, "/health/ready during the freeze", &ready);
    rig::report(tag, "routes without database during the freeze", &spared);
    rig::report(
        tag,
        "recovery after the thaw",
        format!(
            "probe {recovered:?}, load's last failure ended {} ms after the thaw",
            clients_recovered.as_millis()
        ),
    );
    assert!(rig.process_runs(), "the server process stays up");
    assert_eq!(
        spared.ok,
        spared.total,
        "routes needing no database keep answering: {spared}\n{}",
        examples(&probes, |e| !e.succeeded() && e.path != "/health/ready")
    );
    assert!(
        spared.max_latency < Duration::from_secs(3),
        "and promptly (generous for a loaded machine): {spared}"
    );
    assert_eq!(ready.ok, 0, "/health/ready is 503 while frozen: {ready}");
    assert!(ready.max_latency < PROMPT_FAILURE, "{ready}");
    assert!(during.unavailable > 0, "the load saw 503s: {during}");
    assert_eq!(
        everything.other_server_errors + everything.transport_failures,
        0,
        "no 500 and no reset: {everything}\n{}\n{}",
        examples(rig::all(&record), |e| e
            .status()
            .is_none_or(|s| s >= 500 && s != 503 && s != 504)),
        rig.failures_logged()
    );
    assert_eq!(everything.unavailable_without_retry_after, 0);
    let recovered = recovered.expect("the service recovers after the thaw");
    assert!(
        recovered < RECOVERY,
        "recovered {recovered:?} after the thaw"
    );
    let settled = rig.assert_nothing_lost(&record, tag);
    rig::report(tag, "writes (nothing lost)", &settled);
}
