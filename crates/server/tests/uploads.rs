//! Uploads keep the server's memory flat: a 200 MiB file streamed into the real binary, whose
//! peak resident memory (`VmHWM` of `/proc/<pid>/status`, reset just before) may grow by less
//! than 32 MiB. The client is a raw socket fed from a generator, so it holds nothing either,
//! and the measurement is the server's alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{Served, aios, unique_email};

const MIB: u64 = 1024 * 1024;
const BOUNDARY: &str = "aios-rss-boundary-3f9c2e";

/// A kibibyte-valued field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Streams a `size`-byte file (an MP4 header, then a byte pattern) as one multipart part, in
/// 64 KiB writes; returns the status code and body of the answer.
fn upload(port: u16, token: &str, size: u64) -> (u16, String) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let length = head.len() as u64 + size + tail.len() as u64;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let request = format!(
        "POST /api/files HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    // `ftypisom`: the file sniffs as MP4, whose processing only checks the checksum.
    chunk[..12].copy_from_slice(b"\0\0\0\x18ftypisom");
    let mut sent = 0u64;
    while sent < size {
        let n = (size - sent).min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n]).unwrap();
        sent += n as u64;
        if sent == n as u64 {
            // Only the first chunk carries the header.
            chunk[..12].copy_from_slice(&[7; 12]);
        }
    }
    stream.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_200_mib_upload_grows_the_servers_peak_memory_by_less_than_32_mib() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(aios(dir.path()).env("MAX_UPLOAD_BYTES", (256 * MIB).to_string()));
    let token = server.register(&unique_email("rss"));
    let pid = server.pid();
    // Warm up what the first upload creates once (pools, buffers, the blocking threads).
    let (status, body) = upload(server.port, &token, 8 * MIB);
    assert_eq!(status, 201, "{body}");
    std::thread::sleep(Duration::from_millis(500));

    // Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let before = status_bytes(pid, "VmRSS").expect("the server's VmRSS");
    let baseline = if reset {
        before
    } else {
        status_bytes(pid, "VmHWM").unwrap_or(before)
    };
    let size = 200 * MIB;
    let started = Instant::now();
    let (status, body) = upload(server.port, &token, size);
    let elapsed = started.elapsed();
    assert_eq!(status, 201, "{body}");
    let file: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["size"], size);
    assert_eq!(file["contentType"], "video/mp4");
    // Processing reads the file back for its checksum: that counts too.
    std::thread::sleep(Duration::from_secs(2));
    let peak = status_bytes(pid, "VmHWM").expect("the server's VmHWM");
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "200 MiB upload: {:.0} MiB/s; server RSS {:.1} MiB before, peak {:.1} MiB (growth {:.1} MiB)",
        size as f64 / MIB as f64 / elapsed.as_secs_f64(),
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        growth as f64 / MIB as f64,
    );
    assert!(growth < 32 * MIB, "peak RSS grew by {} MiB", growth / MIB);
}
