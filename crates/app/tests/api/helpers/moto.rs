//! An S3-compatible server for the S3 driver's tests: moto in server mode (from PyPI; `.ci/run`
//! installs it into `target/ci-venv` and names its Python in `TEST_MOTO_PYTHON`). One server
//! per test process, started on first use on a free port; each test gets a bucket of its own.
//! The server reads its standard input and exits when it closes, which it does when this
//! process ends, however it ends.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::require_services;

const SERVE: &str = r#"
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"#;

struct Moto {
    endpoint: String,
    // Held open for as long as the tests run; the server stops when it closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// `TEST_MOTO_PYTHON`, or the venv `.ci/run` makes, if it is there.
fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TEST_MOTO_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-venv/bin/python");
    venv.exists().then_some(venv)
}

fn start() -> Option<Moto> {
    let python = python()?;
    let mut child = Command::new(&python)
        .args(["-c", SERVE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdin = child.stdin.take()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port: u16 = line.trim().parse().ok()?;
    Some(Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    })
}

fn server() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(start).as_ref()
}

pub struct Bucket {
    pub name: String,
    pub endpoint: String,
}

/// A new, empty bucket; `None` (after `require_services`) without moto.
pub async fn bucket() -> Option<Bucket> {
    let moto = tokio::task::spawn_blocking(server).await.ok().flatten();
    if !require_services(
        "an S3 server (moto: TEST_MOTO_PYTHON, see .ci/run)",
        moto.is_some(),
    ) {
        return None;
    }
    let moto = moto?;
    let name = format!("aios-test-{}", uuid::Uuid::new_v4().simple());
    // moto accepts unsigned requests; creating a bucket is the test's business, not the app's.
    aios_app::platform::tls::install_default_provider();
    let created = reqwest::Client::new()
        .put(format!("{}/{name}", moto.endpoint))
        .send()
        .await
        .expect("create a bucket on moto");
    assert!(created.status().is_success(), "{:?}", created.status());
    Some(Bucket {
        name,
        endpoint: moto.endpoint.clone(),
    })
}
