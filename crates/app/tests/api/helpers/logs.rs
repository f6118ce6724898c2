//! Captures the application's log output (JSON, debug level) for assertions.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock};

use aios_app::platform::config::LogFormat;
use aios_app::platform::telemetry;

static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
static INIT: Once = Once::new();

fn buffer() -> &'static Mutex<Vec<u8>> {
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = std::io::stderr().write_all(bytes);
        }
        if let Ok(mut logs) = buffer().lock() {
            logs.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The production subscriber (JSON), at debug level, writing into the capture buffer.
pub fn init() {
    INIT.call_once(|| {
        telemetry::init_with_writer("debug", LogFormat::Json, false, || Capture);
    });
}

/// Everything logged so far by every test in this process.
pub fn captured_logs() -> String {
    buffer()
        .lock()
        .map(|logs| String::from_utf8_lossy(&logs).into_owned())
        .unwrap_or_default()
}
