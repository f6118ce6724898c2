//! The process-wide TLS crypto provider. rustls needs one chosen before any client config is
//! built without an explicit provider (reqwest's, for the push providers). It is ring, which
//! sqlx already uses: one provider in the binary, and no aws-lc-rs or OpenSSL to build.

use std::sync::Once;

/// Installs ring as rustls's default provider. Idempotent, and harmless when something else
/// installed one first (that one stays).
pub fn install_default_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is already installed: then that one is used, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
