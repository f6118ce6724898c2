//! SIGKILL of `serve` in the middle of an upload's body and of atomic batches: after the
//! restart there is no file row for the interrupted upload and no stored object but its staging
//! file (which the orphan sweep removes after an hour, files/sweep.rs; invisible to clients
//! meanwhile), and every batch is all there or not at all, and all there after a retry with its
//! key. What was acknowledged before the kill is intact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::proc_support::{
    Node, Outcome, bearer, download, eventually, exchange, file_bytes, kill_hard, long, register,
    sqlite, sqlite_count, sqlite_run, start_upload, upload,
};

const VARS: &[(&str, &str)] = &[
    ("JOBS_IN_PROCESS", "false"),
    ("REQUEST_TIMEOUT_SECS", "2"),
    ("MAX_UPLOAD_BYTES", "33554432"),
];
const BATCH: usize = 100;
const MIB: usize = 1024 * 1024;

fn post_batch(port: u16, token: &str, tag: &str) -> Outcome {
    let operations: Vec<_> = (0..BATCH)
        .map(|i| json!({"op": "create", "body": {"name": format!("{tag}-{i}")}}))
        .collect();
    let body = json!({ "operations": operations }).to_string();
    let head = [bearer(token), format!("Idempotency-Key: {tag}")];
    exchange(
        port,
        "POST",
        "/api/data/batch",
        &head,
        &body,
        Duration::from_secs(20),
    )
}

/// Items per batch tag (the name up to its last `-`).
fn items_per_batch(node: &Node) -> HashMap<String, usize> {
    let mut per_tag = HashMap::new();
    for name in sqlite(
        &node.database(),
        "SELECT name FROM items WHERE name LIKE 'bt%'",
    ) {
        let tag = name
            .rsplit_once('-')
            .map_or(name.clone(), |(t, _)| t.to_owned());
        *per_tag.entry(tag).or_insert(0) += 1;
    }
    per_tag
}

#[test]
fn a_sigkill_mid_upload_and_mid_batch_leaves_no_partial_row_object_or_batch() {
    if !sqlite_run("SIGKILL mid-upload and mid-batch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::new(dir.path(), VARS);
    let (mut server, port) = node.serve(None, &[]);
    let token = register(port, "sigkill-upload");

    // Acknowledged before the kill: one file and one batch.
    let kept_bytes = file_bytes(3 * MIB + 17, 1);
    let kept = upload(port, &token, &kept_bytes);
    assert_eq!(kept.status(), Some(201), "{kept:?}");
    let kept_id = kept.json()["id"].as_str().unwrap().to_owned();
    let done = post_batch(port, &token, "btdone");
    assert_eq!(done.status(), Some(200), "{done:?}");

    // An upload stopped mid-body: 2.5 of 8 MiB sent, its first parts on disk.
    let interrupted = file_bytes(8 * MIB, 2);
    let (stream, _rest) = start_upload(port, &token, &interrupted, 5 * MIB / 2);
    let staging = |node: &Node| {
        node.stored_objects()
            .into_iter()
            .filter(|o| o.contains('#'))
            .count()
    };
    assert!(
        eventually(Duration::from_secs(20), || staging(&node) >= 1),
        "the upload never reached the disk: {:?}",
        node.stored_objects()
    );

    // Batches in a loop from three clients, killed in the middle.
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(Mutex::new(Vec::<(String, Outcome)>::new()));
    let senders: Vec<_> = (0..3)
        .map(|_| {
            let (stop, batches, token) = (stop.clone(), batches.clone(), token.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let tag = format!("bt{}", uuid::Uuid::new_v4().simple());
                    let outcome = post_batch(port, &token, &tag);
                    batches.lock().unwrap().push((tag, outcome));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(if long() { 15_000 } else { 1_500 }));
    stop.store(true, Ordering::SeqCst);
    kill_hard(&mut server);
    drop(stream);
    for sender in senders {
        sender.join().unwrap();
    }
    let batches = Arc::try_unwrap(batches).ok().unwrap().into_inner().unwrap();

    let (_restarted, port) = node.serve(Some(port), &[]);
    // The file: only the acknowledged one has a row, and it reads back byte for byte.
    assert_eq!(
        sqlite_count(&node.database(), "SELECT count(*) FROM files"),
        1
    );
    let (status, bytes) = download(port, &token, &kept_id);
    assert_eq!(status, 200);
    assert!(
        bytes == kept_bytes,
        "the kept file changed ({} bytes)",
        bytes.len()
    );
    let objects = node.stored_objects();
    let finished: Vec<&String> = objects.iter().filter(|o| !o.contains('#')).collect();
    assert_eq!(finished, [&format!("files/{kept_id}")], "{objects:?}");
    let listed = crate::support::call(port, "GET", "/api/files", Some(&token), None);
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(1));

    // The batches: all or nothing, then all after a retry with the key.
    let per_tag = items_per_batch(&node);
    assert_eq!(per_tag.get("btdone"), Some(&BATCH));
    let (mut answered, mut ambiguous, mut committed_unanswered) = (0, 0, 0);
    for (tag, outcome) in &batches {
        let found = per_tag.get(tag).copied().unwrap_or(0);
        assert!(
            found == 0 || found == BATCH,
            "{tag}: {found} of {BATCH} items"
        );
        match outcome.status() {
            Some(200) => {
                answered += 1;
                assert_eq!(found, BATCH, "{tag} was answered 200");
            }
            Some(s) if s < 500 => panic!("{tag} refused: {outcome:?}"),
            _ => {
                ambiguous += 1;
                committed_unanswered += usize::from(found == BATCH);
                let retried = retry_batch(port, &token, tag);
                assert_eq!(retried.status(), Some(200), "{tag}: {retried:?}");
            }
        }
    }
    let per_tag = items_per_batch(&node);
    for (tag, _) in &batches {
        assert_eq!(per_tag.get(tag), Some(&BATCH), "{tag} after its retry");
    }
    assert!(answered >= 1, "no batch completed before the kill");
    eprintln!(
        "SIGKILL mid-upload: 0 rows and 0 finished objects of the interrupted upload, {} \
         staging file(s) left for the sweep; mid-batch: {} batches of {BATCH}, {answered} \
         answered, {ambiguous} ambiguous ({committed_unanswered} had committed), none partial; \
         after retries every batch exactly once",
        staging(&node),
        batches.len()
    );
}

/// A retry of a batch the killed process may have claimed: `409` until the claim's lease ends.
fn retry_batch(port: u16, token: &str, tag: &str) -> Outcome {
    let started = std::time::Instant::now();
    loop {
        let answer = post_batch(port, token, tag);
        if answer.status() != Some(409) || started.elapsed() > Duration::from_secs(90) {
            return answer;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
