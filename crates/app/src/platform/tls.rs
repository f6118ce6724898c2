//! The process-wide TLS crypto provider. Every TLS client in the process (PostgreSQL, Redis,
//! the S3 client's reqwest) uses rustls with the ring provider; reqwest is built without a
//! provider of its own (its default would add aws-lc-rs), so one must be installed before any
//! reqwest client is built. Installing it explicitly also keeps rustls' choice unambiguous if
//! another provider is ever compiled in.

/// Installs ring as the process default; later calls (and a default already set) are no-ops.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
