//! The disk fills under `DATA_DIR` (SQLite, and uploads on local disk): a small tmpfs, filled
//! to the last byte by a file of the test's. Writes then fail quickly with a 5xx in the
//! contract's error shape (not a hang, not a crash), reads keep working, and once the filler is
//! deleted writes succeed again without a restart. Afterwards the database passes
//! `PRAGMA integrity_check` and every acknowledged item and file is there.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::proc_support::{
    Node, Outcome, bearer, download, eventually, exchange, file_bytes, register, sqlite,
    sqlite_count, sqlite_run, upload,
};

const MIB: usize = 1024 * 1024;
/// Small enough to fill in a moment, big enough for the database, the WAL and a few uploads.
const TMPFS_SIZE: &str = "size=24m";

/// A tmpfs mounted for the test, unmounted when dropped (after the servers that use it).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Self> {
        std::fs::create_dir_all(at).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!("mount: {}", String::from_utf8_lossy(&mounted.stderr));
            return None;
        }
        Some(Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes a file until the file system refuses another byte.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for size in [MIB, 64 * 1024, 4096, 512, 1] {
        let chunk = vec![0x5a; size];
        while file.write_all(&chunk).is_ok() {
            written += size as u64;
        }
    }
    let _ = file.sync_all();
    written
}

fn post_item(port: u16, token: &str, name: &str) -> (Outcome, Duration) {
    let body = serde_json::json!({
        "name": name,
        "data": { "padding": "x".repeat(16 * 1024) },
    })
    .to_string();
    let started = Instant::now();
    let outcome = exchange(
        port,
        "POST",
        "/api/data",
        &[bearer(token)],
        &body,
        Duration::from_secs(30),
    );
    (outcome, started.elapsed())
}

/// A refusal the way the contract has it: a 5xx (or 507) with `{error, code, requestId}`.
fn assert_clear_server_error(outcome: &Outcome, took: Duration) {
    let status = outcome.status().unwrap_or(0);
    assert!((500..600).contains(&status), "{outcome:?}");
    let json = outcome.json();
    assert!(
        json["error"].is_string() && json["code"].is_string(),
        "{outcome:?}"
    );
    assert!(json["requestId"].is_string(), "{outcome:?}");
    assert_ne!(status, 504, "timed out instead of failing: {outcome:?}");
    // Generous for a loaded machine: the point is "not a hang".
    assert!(took < Duration::from_secs(10), "took {took:?}: {outcome:?}");
}

#[test]
fn a_full_disk_fails_writes_cleanly_corrupts_nothing_and_recovers_without_a_restart() {
    if !sqlite_run("disk full") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tmpfs) = Tmpfs::mount(&dir.path().join("small")) else {
        let required = std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "REQUIRE_SERVICES=1 but no tmpfs could be mounted (run as root)"
        );
        eprintln!("skipped: disk full needs to mount a tmpfs (run as root)");
        return;
    };
    let data = tmpfs.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let node = Node::new(&data, &[("JOBS_IN_PROCESS", "true")]);
    let (server, port) = node.serve(None, &[]);
    let token = register(port, "diskfull");

    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let write = |name: String, acknowledged: &mut Vec<(String, String)>| {
        let (outcome, took) = post_item(port, &token, &name);
        if outcome.status() == Some(201) {
            let id = outcome.json()["id"].as_str().unwrap().to_owned();
            acknowledged.push((id, name));
        }
        (outcome, took)
    };
    for n in 0..20 {
        let (outcome, _) = write(format!("before-{n}"), &mut acknowledged);
        assert_eq!(outcome.status(), Some(201), "{outcome:?}");
    }
    let kept_file = file_bytes(MIB, 3);
    let kept = upload(port, &token, &kept_file);
    assert_eq!(kept.status(), Some(201), "{kept:?}");
    let kept_id = kept.json()["id"].as_str().unwrap().to_owned();

    let filler = tmpfs.0.join("filler");
    let filled = fill(&filler);

    // Full: writes fail fast and clearly; some may still fit in pages SQLite already has.
    let mut refusals: Vec<(Option<u16>, String, Duration)> = Vec::new();
    for n in 0..40 {
        let (outcome, took) = write(format!("full-{n}"), &mut acknowledged);
        if outcome.status() != Some(201) {
            assert_clear_server_error(&outcome, took);
            let code = outcome.json()["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            refusals.push((outcome.status(), code, took));
        }
    }
    assert!(
        !refusals.is_empty(),
        "40 writes of 16 KiB fitted on a full disk"
    );
    let started = Instant::now();
    let refused_upload = upload(port, &token, &file_bytes(2 * MIB, 4));
    assert_clear_server_error(&refused_upload, started.elapsed());
    // Reads and health keep answering.
    let (id, name) = acknowledged[0].clone();
    let read = exchange(
        port,
        "GET",
        &format!("/api/data/{id}"),
        &[bearer(&token)],
        "",
        Duration::from_secs(10),
    );
    assert_eq!(read.status(), Some(200), "{read:?}");
    assert_eq!(read.json()["name"], name.as_str());
    let live = exchange(
        port,
        "GET",
        "/health/live",
        &[],
        "",
        Duration::from_secs(10),
    );
    assert_eq!(live.status(), Some(200));

    // Space comes back: the same process serves writes again.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    let mut n = 0;
    assert!(
        eventually(Duration::from_secs(15), || {
            n += 1;
            write(format!("after-{n}"), &mut acknowledged).0.status() == Some(201)
        }),
        "writes did not resume after space returned"
    );
    let resumed_after = freed.elapsed();
    for m in 0..20 {
        let (outcome, _) = write(format!("resumed-{m}"), &mut acknowledged);
        assert_eq!(outcome.status(), Some(201), "{outcome:?}");
    }
    let after_file = file_bytes(2 * MIB, 5);
    let after = upload(port, &token, &after_file);
    assert_eq!(after.status(), Some(201), "{after:?}");
    let after_id = after.json()["id"].as_str().unwrap().to_owned();
    for (id, file) in [(&kept_id, &kept_file), (&after_id, &after_file)] {
        let (status, bytes) = download(port, &token, id);
        assert_eq!(status, 200);
        assert!(&bytes == file, "file {id} changed");
    }
    for (id, name) in &acknowledged {
        let read = exchange(
            port,
            "GET",
            &format!("/api/data/{id}"),
            &[bearer(&token)],
            "",
            Duration::from_secs(10),
        );
        assert_eq!(
            read.status(),
            Some(200),
            "acknowledged item {name}: {read:?}"
        );
        assert_eq!(read.json()["name"], name.as_str());
    }
    server_stops_cleanly(server);

    assert_eq!(sqlite(&node.database(), "PRAGMA integrity_check"), ["ok"]);
    for (id, name) in &acknowledged {
        let found = sqlite_count(
            &node.database(),
            &format!("SELECT count(*) FROM items WHERE name = '{name}'"),
        );
        assert_eq!(found, 1, "acknowledged item {name} ({id}) in the file");
    }
    assert_eq!(
        sqlite_count(&node.database(), "SELECT count(*) FROM files"),
        2
    );
    let finished: Vec<String> = node
        .stored_objects()
        .into_iter()
        .filter(|o| o.starts_with("files/") && !o.contains('#'))
        .collect();
    assert_eq!(finished.len(), 2, "{finished:?}");
    let slowest = refusals.iter().map(|r| r.2).max().unwrap_or_default();
    eprintln!(
        "disk full ({TMPFS_SIZE}, {:.1} MiB filler): {} of 40 writes refused {:?}, slowest \
         {:.0} ms; upload refused {:?} {}; writes resumed {:.0} ms after space returned; \
         integrity_check ok; {} acknowledged items all present",
        filled as f64 / MIB as f64,
        refusals.len(),
        refusals
            .iter()
            .map(|r| (r.0, r.1.clone()))
            .collect::<std::collections::BTreeSet<_>>(),
        slowest.as_secs_f64() * 1000.0,
        refused_upload.status(),
        refused_upload.json()["code"],
        resumed_after.as_secs_f64() * 1000.0,
        acknowledged.len(),
    );
}

fn server_stops_cleanly(mut server: crate::support::Spawned) {
    let status = server.terminate(Duration::from_secs(40));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        server.log()
    );
}
