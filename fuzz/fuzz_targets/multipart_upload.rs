//! The streamed multipart upload parser (`files/upload.rs`) on arbitrary bodies, through the
//! real `receive` (SQLite and local storage in a temporary directory, built once). The body
//! arrives in chunks of a size the input's first byte chooses, so part boundaries fall across chunk edges.
//! Invariants: it never panics; a refusal is a 4xx (never a 5xx); an accepted file is as
//! many bytes as were stored, and its bytes are removed again.
#![no_main]

use std::sync::OnceLock;

use aios_app::files::upload::{self, Incoming};
use aios_app::http::error::ApiError;
use aios_app::{AppState, Config, Overrides};
use bytes::Bytes;
use entity::UserId;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "fuzzboundary";

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: AppState,
    _data_dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let data_dir = tempfile::tempdir().unwrap();
        let vars = [
            ("APP_ENV", "test"),
            ("DATA_DIR", data_dir.path().to_str().unwrap()),
            (
                "JWT_SECRET",
                "fuzz-secret-that-is-long-enough-for-hs256-0123456789",
            ),
            ("PASSWORD_HASH_CONCURRENCY", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = Config::from_vars(vars).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let app = runtime
            .block_on(AppState::build(config, Overrides::default()))
            .unwrap();
        Harness {
            runtime,
            app,
            _data_dir: data_dir,
        }
    })
}

fuzz_target!(|input: &[u8]| {
    // The first byte chooses the chunk size, the second whether a Content-Length is declared.
    let [chunk_size, flags, body @ ..] = input else {
        return;
    };
    let harness = harness();
    let chunks: Vec<_> = body
        .chunks(usize::from(*chunk_size) + 1)
        .map(|chunk| Ok::<_, std::io::Error>(Bytes::copy_from_slice(chunk)))
        .collect();
    let declare_length = flags & 1 == 1;
    let incoming = Incoming {
        content_type: Some(format!("multipart/form-data; boundary={BOUNDARY}")),
        content_length: declare_length.then_some(body.len() as u64),
        body: futures::stream::iter(chunks),
    };
    let app = &harness.app;
    harness.runtime.block_on(async {
        match upload::receive(app, UserId::new(), incoming).await {
            Ok(received) => {
                let size = received.fingerprint()["size"].as_u64().unwrap();
                assert!(
                    size as usize <= body.len(),
                    "{size} bytes stored from a {}-byte body",
                    body.len()
                );
                upload::discard(app, received).await;
            }
            Err(refusal) => {
                let refusal = ApiError::from(refusal);
                let status = refusal.status();
                assert!(
                    status.is_client_error(),
                    "refused with {status}: {refusal:?}"
                );
            }
        }
    });
});
