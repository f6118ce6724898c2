//! SIGKILL of `serve` while many idempotent writes are in flight. Some were committed and
//! answered, some committed but never answered, some never committed: the client cannot tell
//! the last two apart. After a restart it retries every ambiguous one with its
//! `Idempotency-Key`, and then every item exists exactly once, and a retry of an answered one
//! gets the stored response back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::proc_support::{
    Node, Outcome, bearer, exchange, kill_hard, long, register, sqlite, sqlite_run,
};

/// A short request timeout keeps the lease of a key claimed by the killed process short: it
/// is `REQUEST_TIMEOUT_SECS` + 30 s, and until it runs out a retry is `409` (in progress).
const VARS: &[(&str, &str)] = &[("REQUEST_TIMEOUT_SECS", "2"), ("JOBS_IN_PROCESS", "false")];

const WRITERS: usize = 6;

struct Write {
    key: String,
    body: String,
    first: Outcome,
}

fn post_item(port: u16, token: &str, key: &str, body: &str) -> Outcome {
    let head = [bearer(token), format!("Idempotency-Key: {key}")];
    exchange(
        port,
        "POST",
        "/api/data",
        &head,
        body,
        Duration::from_secs(20),
    )
}

/// Retries until the answer is no longer `409 IDEMPOTENCY_IN_PROGRESS` (the killed request's
/// claim), honouring `Retry-After`; the answer and how long the key stayed claimed.
fn retry_until_settled(port: u16, token: &str, write: &Write) -> (Outcome, Duration) {
    let started = Instant::now();
    loop {
        let answer = post_item(port, token, &write.key, &write.body);
        if answer.status() != Some(409) {
            return (answer, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{} still in progress after 90 s",
            write.key
        );
        let wait: u64 = answer
            .header("retry-after")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        std::thread::sleep(Duration::from_secs(wait));
    }
}

#[test]
fn writes_in_flight_at_a_sigkill_exist_exactly_once_after_retries_with_their_keys() {
    if !sqlite_run("SIGKILL mid-write") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::new(dir.path(), VARS);
    let (mut server, port) = node.serve(None, &[]);
    let token = register(port, "sigkill");

    let writes = Arc::new(Mutex::new(Vec::<Write>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (writes, stop, token) = (writes.clone(), stop.clone(), token.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let key = uuid::Uuid::new_v4().simple().to_string();
                    let body = serde_json::json!({ "name": format!("sk-{key}") }).to_string();
                    let first = post_item(port, &token, &key, &body);
                    writes.lock().unwrap().push(Write { key, body, first });
                }
            })
        })
        .collect();
    // Under load for a while, then killed with requests in flight.
    let load_for = if long() { 20 } else { 2 };
    std::thread::sleep(Duration::from_secs(load_for));
    stop.store(true, Ordering::SeqCst);
    kill_hard(&mut server);
    for writer in writers {
        writer.join().unwrap();
    }
    let writes = Arc::try_unwrap(writes).ok().unwrap().into_inner().unwrap();
    let acknowledged: Vec<&Write> = writes
        .iter()
        .filter(|w| w.first.status().is_some_and(|s| s < 300))
        .collect();
    let ambiguous: Vec<&Write> = writes
        .iter()
        .filter(|w| w.first.status().is_none_or(|s| s >= 500))
        .collect();
    let refused: Vec<(&str, Option<u16>)> = writes
        .iter()
        .filter(|w| w.first.status().is_some_and(|s| (300..500).contains(&s)))
        .map(|w| (w.key.as_str(), w.first.status()))
        .collect();
    assert!(refused.is_empty(), "writes refused under load: {refused:?}");
    assert!(
        acknowledged.len() >= 20,
        "too little load: {}",
        writes.len()
    );

    let (_restarted, port) = node.serve(Some(port), &[]);
    let mut replayed = 0;
    let mut longest_claim = Duration::ZERO;
    for write in &ambiguous {
        let (answer, claimed_for) = retry_until_settled(port, &token, write);
        longest_claim = longest_claim.max(claimed_for);
        assert_eq!(answer.status(), Some(201), "{:?}", answer);
        if answer.header("idempotent-replayed").as_deref() == Some("true") {
            replayed += 1;
        }
    }
    // An answered write, retried, gets its stored response: the same item.
    for write in acknowledged.iter().take(20) {
        let again = post_item(port, &token, &write.key, &write.body);
        assert_eq!(again.status(), Some(201), "{again:?}");
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
        assert_eq!(again.json()["id"], write.first.json()["id"]);
    }

    let counts: HashMap<String, usize> = sqlite(
        &node.database(),
        "SELECT name || '=' || count(*) FROM items WHERE name LIKE 'sk-%' GROUP BY name",
    )
    .into_iter()
    .filter_map(|row| {
        let (name, count) = row.rsplit_once('=')?;
        Some((name.to_owned(), count.parse().ok()?))
    })
    .collect();
    for write in &writes {
        let name = format!("sk-{}", write.key);
        assert_eq!(counts.get(&name), Some(&1), "{name}: {:?}", write.first);
    }
    assert_eq!(counts.len(), writes.len(), "items nobody asked for");
    eprintln!(
        "SIGKILL mid-write: {} writes, {} answered before the kill, {} ambiguous \
         ({replayed} had committed: replayed; {} ran on retry); key claimed for up to {:.1} s \
         after the restart; every item exactly once",
        writes.len(),
        acknowledged.len(),
        ambiguous.len(),
        ambiguous.len() - replayed,
        longest_claim.as_secs_f64()
    );
}
