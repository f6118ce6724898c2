//! Mail (SendGrid) and push (FCM) providers that hang, reset connections and answer 500 for a
//! while (12 s in CI, a minute with `CHAOS_LONG=1`), while users register (each one a
//! verification email) and an administrator sends each of them a notification (one push to
//! their phone). The API keeps its latency throughout, the breakers open so the jobs back off,
//! no job dies, and once the providers accept again every message is delivered exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::proc_support::{Node, bearer, exchange, long, register, sqlite_run};
use crate::providers_peer::{FlakyProvider, Mode};
use crate::support::{self, PASSWORD};

const ADMIN: &str = "admin-chaos@example.com";

/// A service account for the local FCM: its RSA key made by `openssl`, as Google's are.
fn service_account() -> String {
    let key = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl makes the service account's key");
    assert!(key.status.success(), "{}", support::text(&key));
    json!({
        "type": "service_account",
        "project_id": "chaos",
        "private_key_id": "key-1",
        "private_key": String::from_utf8(key.stdout).unwrap(),
        "client_email": "push@chaos.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

fn call_json(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let answer = exchange(
        port,
        method,
        path,
        &[bearer(token)],
        &body.to_string(),
        Duration::from_secs(10),
    );
    assert!(
        answer.status().is_some_and(|s| s < 300),
        "{method} {path}: {answer:?}"
    );
    answer.json()
}

/// Latencies of the requests that must stay fast while jobs fail, and what `/health` said.
#[derive(Default)]
struct Probe {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    saw_open: HashMap<String, bool>,
}

/// The k-th retry of a mail or push job waits at most its k-th backoff (2 s and 5 s, doubling):
/// the runs deferred behind an open breaker spent no attempt, so they must not lengthen it.
fn assert_backoff_counts_only_failures(log: &str) {
    let mut retries: HashMap<String, u32> = HashMap::new();
    for line in log.lines().filter(|l| l.contains("job failed; will retry")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .map(str::to_owned)
        };
        let (Some(wait), Some(id), Some(queue)) =
            (field("retry_in_ms="), field("job.id="), field("job.queue="))
        else {
            continue;
        };
        let base_ms: u64 = match queue.as_str() {
            "user:registered" => 2000,
            "push:device" => 5000,
            _ => continue,
        };
        let retry = retries.entry(id).or_default();
        *retry += 1;
        let allowed = base_ms << (*retry - 1).min(20);
        let wait: u64 = wait.parse().unwrap();
        assert!(
            wait <= allowed,
            "retry {retry} waits {wait} ms (over {allowed}): {line}"
        );
    }
    assert!(
        !retries.is_empty(),
        "no job retried: the outage did not reach the jobs"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

#[test]
fn failing_mail_and_push_providers_keep_the_api_fast_and_deliver_every_message_once() {
    if !sqlite_run("provider outage") {
        return;
    }
    let outage = Duration::from_secs(if long() { 60 } else { 12 });
    let users = if long() { 20 } else { 6 };
    let mail = Arc::new(FlakyProvider::start(Mode::Hang));
    let push = Arc::new(FlakyProvider::start(Mode::Hang));
    let account = service_account();
    let token_url = format!("{}/token", push.base_url);
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("JOBS_IN_PROCESS", "true"),
        ("JOBS_POLL_INTERVAL_MS", "100"),
        ("MAIL_TRANSPORT", "sendgrid"),
        ("SENDGRID_API_KEY", "SG.chaos-key"),
        ("SENDGRID_BASE_URL", mail.base_url.as_str()),
        ("MAIL_FROM", "aios <no-reply@example.com>"),
        ("MAIL_TIMEOUT_SECS", "2"),
        ("MAIL_BREAKER_THRESHOLD", "3"),
        ("MAIL_BREAKER_COOLDOWN_SECS", "3"),
        ("FCM_SERVICE_ACCOUNT", account.as_str()),
        ("FCM_TOKEN_URL", token_url.as_str()),
        ("FCM_API_URL", push.base_url.as_str()),
        ("PUSH_TIMEOUT_SECS", "2"),
        ("ADMIN_EMAIL", ADMIN),
        ("ADMIN_PASSWORD", PASSWORD),
    ];
    let node = Node::new(dir.path(), &vars);
    let (server, port) = node.serve(None, &[]);
    let admin = support::call(
        port,
        "POST",
        "/api/auth/login",
        None,
        Some(&json!({"email": ADMIN, "password": PASSWORD})),
    );
    assert_eq!(admin.status, 200, "{}", admin.text);
    let admin = admin.json["accessToken"].as_str().unwrap().to_owned();
    let reader = register(port, "reader");
    let item = call_json(
        port,
        "POST",
        "/api/data",
        &reader,
        &json!({"name": "probe"}),
    );
    let item_path = format!("/api/data/{}", item["id"].as_str().unwrap());

    // The probe: health and a data read, every 100 ms, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let probe = Arc::new(Mutex::new(Probe::default()));
    let prober = {
        let (stop, probe, reader) = (stop.clone(), probe.clone(), reader.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (path, head) in [
                    ("/health", vec![]),
                    (item_path.as_str(), vec![bearer(&reader)]),
                ] {
                    let started = Instant::now();
                    let answer = exchange(port, "GET", path, &head, "", Duration::from_secs(30));
                    let took = started.elapsed();
                    let mut probe = probe.lock().unwrap();
                    probe.latencies.push(took);
                    if answer.status() != Some(200) {
                        probe.failures.push(format!("{path}: {answer:?}"));
                    }
                    if path == "/health" {
                        for (name, state) in
                            answer.json()["providers"].as_object().into_iter().flatten()
                        {
                            let open = probe.saw_open.entry(name.clone()).or_default();
                            *open |= state == "open";
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // The outage: hang, then resets, then 500s, a third of the time each, while users sign
    // up (a verification email each) and each gets a notification (a push to their phone).
    let started = Instant::now();
    let scheduler = {
        let (mail, push) = (mail.clone(), push.clone());
        std::thread::spawn(move || {
            while started.elapsed() < outage {
                let phase = started.elapsed().as_secs_f64() / outage.as_secs_f64();
                let mode = match phase {
                    p if p < 1.0 / 3.0 => Mode::Hang,
                    p if p < 2.0 / 3.0 => Mode::Reset,
                    _ => Mode::Fail,
                };
                mail.set_mode(mode);
                push.set_mode(mode);
                std::thread::sleep(Duration::from_millis(20));
            }
            mail.set_mode(Mode::Accept);
            push.set_mode(Mode::Accept);
        })
    };
    let mut expected_mail = Vec::new();
    let mut expected_push = Vec::new();
    let mut write_latencies = Vec::new();
    for i in 0..users {
        let email = support::unique_email(&format!("outage{i}"));
        let request = Instant::now();
        let registered = support::call(
            port,
            "POST",
            "/api/auth/register",
            None,
            Some(&json!({"email": email, "password": PASSWORD})),
        );
        write_latencies.push(request.elapsed());
        assert_eq!(registered.status, 201, "{}", registered.text);
        let token = registered.json["accessToken"].as_str().unwrap().to_owned();
        let user_id = registered.json["user"]["id"].as_str().unwrap().to_owned();
        let device = format!("chaos-device-{i}:APA91bH-{}", uuid::Uuid::new_v4().simple());
        call_json(
            port,
            "POST",
            "/api/devices",
            &token,
            &json!({"platform": "android", "token": device}),
        );
        let title = format!("note-{i}");
        let request = Instant::now();
        call_json(
            port,
            "POST",
            "/api/notifications",
            &admin,
            &json!({"userId": user_id, "title": title, "body": "chaos"}),
        );
        write_latencies.push(request.elapsed());
        expected_mail.push(email);
        expected_push.push(format!("{device}|{title}"));
        // Spread over the first five sixths, so that every mode meets fresh messages.
        let next = outage.mul_f64(5.0 * (i + 1) as f64 / (6.0 * users as f64));
        std::thread::sleep(next.saturating_sub(started.elapsed()));
    }
    scheduler.join().unwrap();
    let recovered = Instant::now();
    assert!(
        mail.accepted().is_empty() && push.accepted().is_empty(),
        "accepted during the outage"
    );

    // Delivered, once each. The breakers' cool-downs (3 s for mail, 30 s for push) and the
    // jobs' backoff bound how long that takes (generous limits, for a loaded machine). Only
    // failed probes count in the backoff, not the waits behind an open breaker: when they did,
    // a minute of outage left emails waiting 29 minutes (the regression this catches).
    let limit = Duration::from_secs(if long() { 240 } else { 120 });
    let all_there = |provider: &FlakyProvider, expected: &[String]| {
        let accepted = provider.accepted();
        expected.iter().all(|e| accepted.contains(e))
    };
    while !(all_there(&mail, &expected_mail) && all_there(&push, &expected_push)) {
        if recovered.elapsed() >= limit {
            let jobs = support::call(port, "GET", "/api/admin/jobs?limit=100", Some(&admin), None);
            panic!(
                "not delivered within {limit:?}: mail {:?}, push {:?}\njobs: {}",
                mail.accepted(),
                push.accepted(),
                jobs.text
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let delivered_after = recovered.elapsed();
    // Long enough for a duplicate that was on its way to show.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);
    prober.join().unwrap();

    for (provider, expected) in [(&mail, &expected_mail), (&push, &expected_push)] {
        let accepted = provider.accepted();
        for message in expected {
            let times = accepted.iter().filter(|a| *a == message).count();
            assert_eq!(times, 1, "{message} delivered {times} times: {accepted:?}");
        }
    }
    assert_backoff_counts_only_failures(&server.log());
    let dead = support::call(
        port,
        "GET",
        "/api/admin/jobs?state=dead",
        Some(&admin),
        None,
    );
    assert_eq!(
        dead.json["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        dead.text
    );

    let probe = probe.lock().unwrap();
    assert!(probe.failures.is_empty(), "{:?}", probe.failures);
    assert_eq!(
        probe.saw_open.get("mail"),
        Some(&true),
        "the mail breaker never opened"
    );
    assert_eq!(
        probe.saw_open.get("push_fcm"),
        Some(&true),
        "the push breaker never opened"
    );
    let mut sorted = probe.latencies.clone();
    sorted.sort();
    let (p50, p99, max) = (
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        percentile(&sorted, 1.0),
    );
    // Generous: the machine is loaded. A request that waited on a provider would take the
    // provider's 2 s timeout at least.
    assert!(max < Duration::from_millis(1500), "a probe took {max:?}");
    let slowest_write = write_latencies.iter().max().copied().unwrap_or_default();
    assert!(
        slowest_write < Duration::from_millis(1500),
        "a write took {slowest_write:?}"
    );
    eprintln!(
        "provider outage {:?} (hang, reset, 500): {} probes p50 {:.1} ms p99 {:.1} ms max {:.1} ms, \
         slowest write {:.0} ms; refused (hang, reset, 500) mail {:?} push {:?}; {} mails and \
         {} pushes delivered once each, {:.1} s after recovery; 0 dead jobs",
        outage,
        sorted.len(),
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        slowest_write.as_secs_f64() * 1000.0,
        mail.refused(),
        push.refused(),
        expected_mail.len(),
        expected_push.len(),
        delivered_after.as_secs_f64()
    );
}
