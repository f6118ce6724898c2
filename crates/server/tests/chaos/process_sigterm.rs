//! SIGTERM with slow requests in flight. `rolling_restart.rs` already proves that readiness
//! turns 503 at once and that no request sent through a balancer fails; this adds what it does
//! not: uploads trickling in over seconds that outlive `SHUTDOWN_GRACE_SECS` complete (201, and
//! their bytes read back), writes sent during the grace period all succeed with no reset and no
//! 5xx, the in-process workers drain (no job is left running), and the process exits 0 within
//! grace + `SHUTDOWN_TIMEOUT_SECS`.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::proc_support::{
    Node, Outcome, bearer, download, exchange, file_bytes, long, read_response, register,
    sqlite_count, sqlite_run, start_upload,
};

const GRACE_SECS: u64 = 2;
const TIMEOUT_SECS: u64 = 15;
const MIB: usize = 1024 * 1024;

fn get_status(port: u16, path: &str) -> Option<u16> {
    exchange(port, "GET", path, &[], "", Duration::from_secs(10)).status()
}

/// Sends the rest of an upload in 64 KiB pieces spread over `over`, then reads the answer.
fn trickle(mut stream: std::net::TcpStream, rest: &[u8], over: Duration) -> Outcome {
    let pieces = rest.chunks(64 * 1024).count().max(1);
    let pause = over / u32::try_from(pieces).unwrap();
    for piece in rest.chunks(64 * 1024) {
        if let Err(err) = stream.write_all(piece) {
            return Outcome::Lost(format!("reset while sending the body: {err}"));
        }
        std::thread::sleep(pause);
    }
    read_response(&mut stream).unwrap_or_else(|err| Outcome::Lost(err.to_string()))
}

#[test]
fn sigterm_lets_slow_uploads_and_accepted_writes_finish_drains_the_workers_and_exits_0() {
    if !sqlite_run("SIGTERM with slow requests") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let grace = GRACE_SECS.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    let vars = [
        ("JOBS_IN_PROCESS", "true"),
        ("SHUTDOWN_GRACE_SECS", grace.as_str()),
        ("SHUTDOWN_TIMEOUT_SECS", timeout.as_str()),
        ("JOBS_POLL_INTERVAL_MS", "50"),
    ];
    let node = Node::new(dir.path(), &vars);
    let (mut server, port) = node.serve(None, &[]);
    let token = register(port, "sigterm");

    // Uploads that are still sending when the listener closes: 5 s of body from 1 s before
    // the signal, so 2 s past the 2 s grace.
    let uploads = if long() { 6 } else { 2 };
    let files: Vec<Vec<u8>> = (0..uploads)
        .map(|i| file_bytes(2 * MIB, u8::try_from(i).unwrap()))
        .collect();
    let trickling: Vec<_> = files
        .iter()
        .map(|file| {
            let (stream, rest) = start_upload(port, &token, file, 256 * 1024);
            std::thread::spawn(move || trickle(stream, &rest, Duration::from_secs(5)))
        })
        .collect();

    // Writers that keep sending until the grace period is nearly over, as a client does while
    // its balancer has not yet taken the instance out.
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (stop, outcomes, token) = (stop.clone(), outcomes.clone(), token.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let body = serde_json::json!({ "name": format!("st-{w}-{n}") }).to_string();
                    let head = [bearer(&token)];
                    let outcome = exchange(
                        port,
                        "POST",
                        "/api/data",
                        &head,
                        &body,
                        Duration::from_secs(30),
                    );
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));

    let signalled = Instant::now();
    let sent_before_signal = outcomes.lock().unwrap().len();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    while get_status(port, "/health/ready") != Some(503) {
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "readiness stayed 200"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let ready_failed_after = signalled.elapsed();
    std::thread::sleep(Duration::from_millis(GRACE_SECS * 1000 - 700));
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    let budget = Duration::from_secs(GRACE_SECS + 2 * TIMEOUT_SECS + 5);
    let status = server.terminate(budget);
    let exited_after = signalled.elapsed();
    let answers: Vec<Outcome> = trickling.into_iter().map(|t| t.join().unwrap()).collect();
    let log = server.log();

    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?} after {exited_after:?}\n{log}"
    );
    assert!(log.contains("shutdown complete"), "{log}");
    let outcomes = outcomes.lock().unwrap();
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status() != Some(201))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {}: {:?}",
        failed.len(),
        outcomes.len(),
        failed
    );
    for answer in &answers {
        assert_eq!(
            answer.status(),
            Some(201),
            "a slow upload: {answer:?}\n{log}"
        );
    }
    assert!(
        exited_after >= Duration::from_secs(GRACE_SECS),
        "exited before the grace period ended: {exited_after:?}"
    );
    // The workers drained: nothing is left held by the stopped process.
    let running = sqlite_count(
        &node.database(),
        "SELECT count(*) FROM Jobs WHERE status IN ('Queued', 'Running')",
    );
    assert_eq!(running, 0, "jobs left running by the stopped worker");

    // Every answered write and upload is there after a restart.
    let (_restarted, port) = node.serve(None, &[]);
    let stored = sqlite_count(
        &node.database(),
        "SELECT count(*) FROM items WHERE name LIKE 'st-%'",
    );
    assert_eq!(usize::try_from(stored).unwrap(), outcomes.len());
    for (answer, file) in answers.iter().zip(&files) {
        let id = answer.json()["id"].as_str().unwrap().to_owned();
        let (status, bytes) = download(port, &token, &id);
        assert_eq!(status, 200);
        assert!(&bytes == file, "upload {id} reads back different bytes");
    }
    eprintln!(
        "SIGTERM: readiness 503 after {:.0} ms; {} writes ({} after the signal, in the grace \
         period), 0 failed; {uploads} uploads sending their body 4 s past the signal, all 201 \
         and intact; exit 0 after {:.1} s (budget {} s); 0 jobs left running",
        ready_failed_after.as_secs_f64() * 1000.0,
        outcomes.len(),
        outcomes.len() - sent_before_signal,
        exited_after.as_secs_f64(),
        budget.as_secs()
    );
}
