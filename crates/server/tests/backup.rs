//! `aios-server backup` and `restore` with the real binary: a backup taken while a server
//! keeps writing holds every write acknowledged before it started (items and files), a
//! restore into a fresh directory serves them, a restore is refused while a server runs on
//! the directory, and the scheduled backup keeps `BACKUP_KEEP` copies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{PASSWORD, Served, aios, text, unique_email};

const BOUNDARY: &str = "aios-backup-boundary-7d1e";

/// Uploads a small MP4-looking file whose bytes end with `marker`; returns the file object.
fn upload(port: u16, token: &str, marker: &str) -> Value {
    let mut content = b"\0\0\0\x18ftypisom".to_vec();
    content.extend(std::iter::repeat_n(b'x', 4096));
    content.extend(marker.as_bytes());
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    )
    .into_bytes();
    body.extend(&content);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /api/files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let json = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(json).unwrap()
}

fn login(server: &Served, email: &str) -> String {
    let answer = server.login(email);
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json["accessToken"].as_str().unwrap().to_owned()
}

fn run(command: &mut std::process::Command) -> (bool, String) {
    let output = command.output().expect("run aios-server");
    (output.status.success(), text(&output))
}

#[test]
fn a_backup_under_write_load_restores_every_acknowledged_write_into_a_fresh_directory() {
    let source = tempfile::tempdir().unwrap();
    let server = Served::start(aios(source.path()).env("RATE_LIMIT_USER_PER_MIN", "1000000"));
    let email = unique_email("backup");
    let token = server.register(&email);
    let files: Vec<(Value, String)> = (0..3)
        .map(|n| {
            let marker = format!("marker-{n}-{}", uuid::Uuid::new_v4());
            (upload(server.port, &token, &marker), marker)
        })
        .collect();

    // A writer that keeps creating items; each acknowledged (201) id is recorded.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, token, port) = (
            acknowledged.clone(),
            stop.clone(),
            token.clone(),
            server.port,
        );
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "name": format!("item {n}"), "data": { "n": n } });
                let answer = support::call(port, "POST", "/api/data", Some(&token), Some(&body));
                assert_eq!(answer.status, 201, "{}", answer.text);
                let id = answer.json["id"].as_str().unwrap().to_owned();
                acknowledged.lock().unwrap().push(id);
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 20 {
        std::thread::sleep(Duration::from_millis(10));
    }

    let before_backup: Vec<String> = acknowledged.lock().unwrap().clone();
    let backups = tempfile::tempdir().unwrap();
    let dest = backups.path().join("nightly");
    let (ok, output) = run(aios(source.path()).arg("backup").arg(&dest));
    let written_during = acknowledged.lock().unwrap().len() - before_backup.len();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(ok, "{output}");
    assert!(output.contains("3 files"), "{output}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["files"]["count"], 3);
    assert_eq!(manifest["database"]["sha256"].as_str().unwrap().len(), 64);
    eprintln!(
        "{} items acknowledged before the backup, {written_during} while it ran",
        before_backup.len()
    );

    let fresh = tempfile::tempdir().unwrap();
    let (ok, output) = run(aios(fresh.path()).arg("restore").arg(&dest));
    assert!(ok, "{output}");
    let restored = Served::start(&mut aios(fresh.path()));
    let token = login(&restored, &email);
    for id in &before_backup {
        let answer = restored.call("GET", &format!("/api/data/{id}"), Some(&token), None);
        assert_eq!(answer.status, 200, "item {id} is missing: {}", answer.text);
    }
    for (file, marker) in &files {
        let id = file["id"].as_str().unwrap();
        let answer = restored.call("GET", &format!("/api/files/{id}"), Some(&token), None);
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["sha256"], file["sha256"]);
        let content = restored.call(
            "GET",
            &format!("/api/files/{id}/content"),
            Some(&token),
            None,
        );
        assert_eq!(content.status, 200, "{}", content.text);
        assert!(content.text.ends_with(marker.as_str()), "file {id} differs");
    }
    // The snapshot is one consistent moment: the items it holds are a prefix of the writes.
    let page = restored.call(
        "GET",
        "/api/data?limit=100&sort=createdAt",
        Some(&token),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
}

#[test]
fn restore_is_refused_while_a_server_runs_on_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&mut aios(dir.path()));
    let email = unique_email("live");
    server.register(&email);
    let backups = tempfile::tempdir().unwrap();
    let dest = backups.path().join("copy");
    let (ok, output) = run(aios(dir.path()).arg("backup").arg(&dest));
    assert!(ok, "{output}");

    let (ok, output) = run(aios(dir.path()).arg("restore").arg(&dest));
    assert!(!ok, "restore ran against a live server: {output}");
    assert!(output.contains("stop it before restoring"), "{output}");
    // Untouched: the server still answers with its data.
    assert_eq!(server.login(&email).status, 200);

    // Once it is stopped, the same restore goes through.
    server.stop();
    let (ok, output) = run(aios(dir.path()).arg("restore").arg(&dest));
    assert!(ok, "{output}");
}

#[test]
fn on_postgresql_backup_and_restore_explain_pg_dump_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["backup", "restore"] {
        let (ok, output) = run(aios(dir.path())
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
            .arg(command)
            .arg(dir.path().join("b")));
        assert!(!ok, "{output}");
        assert!(output.contains("pg_dump"), "{output}");
        assert!(!dir.path().join("b").exists());
    }
}

fn complete_backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("manifest.json").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn the_scheduled_backup_writes_backups_and_keeps_backup_keep_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let server = Served::start(
        aios(dir.path())
            .env("LOG_LEVEL", "info")
            .env("BACKUP_SCHEDULE", "* * * * * *")
            .env("BACKUP_KEEP", "2")
            .env("BACKUP_DIR", backups.path()),
    );
    server.register(&unique_email("scheduled"));
    assert!(
        server.wait_for_log("backup written", 4, Duration::from_secs(60)),
        "{}",
        server.log()
    );
    // A graceful stop lets a backup in progress finish, prune included.
    server.stop();
    let names = complete_backups(backups.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("aios-backup-")));
    let leftovers: Vec<_> = std::fs::read_dir(backups.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Each one restores.
    let fresh = tempfile::tempdir().unwrap();
    let (ok, output) = run(aios(fresh.path())
        .arg("restore")
        .arg(backups.path().join(&names[1])));
    assert!(ok, "{output}");
    let _ = PASSWORD;
}
