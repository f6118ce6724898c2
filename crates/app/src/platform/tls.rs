//! The process's TLS crypto: ring, for every rustls user (sqlx, redis, lettre, reqwest for push, SendGrid and S3).
//!
//! reqwest is built with `rustls-no-provider` (its `rustls` feature pulls aws-lc-rs, a C build
//! we avoid) and panics when it builds a client while no process-wide default provider exists.
//! Installing ring once, before anything connects, keeps every client on one provider.

/// Makes ring rustls' process-wide default provider, unless one is installed already (an
/// embedder's choice wins). Idempotent; `main` calls it first, `AppState::build` again for tests
/// and embedders.
pub fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // An error only means another thread installed one first: a default exists either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
