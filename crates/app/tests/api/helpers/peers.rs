//! Local stand-ins for the push providers, speaking their real protocols: HTTP/1.1 or HTTP/2
//! over TLS with a certificate from a CA generated per test (trusted by the client through
//! `PUSH_CA_FILE`), or plain HTTP. Plus what the peers need to check what they receive: ES256
//! verification of a JWT and a `Config` with only the variables a test gives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aios_app::Config;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use p256::ecdsa::signature::Verifier as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A CA of the test's own, its file for `PUSH_CA_FILE`, and a server certificate it signed
/// for `localhost` and `127.0.0.1`.
pub struct TestTls {
    pub ca_file: PathBuf,
    acceptor: TlsAcceptor,
    _dir: tempfile::TempDir,
}

impl TestTls {
    pub fn new() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "aios push test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).expect("CA file");
        let key = pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![server_cert.der().clone()], key)
            .expect("server TLS config");
        // Both, as real push services offer: the client's choice is then visible.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            ca_file,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            _dir: dir,
        }
    }

    pub fn ca_file(&self) -> String {
        self.ca_file.display().to_string()
    }

    /// Serves `router` over TLS on a free port of 127.0.0.1, HTTP/1.1 or HTTP/2 as the client
    /// negotiates, until the test ends.
    pub async fn serve(&self, listener: tokio::net::TcpListener, router: axum::Router) {
        let acceptor = self.acceptor.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(router);
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    }
}

/// A listener on a free port of 127.0.0.1, bound first so that the peer's URLs are known
/// before its state is built.
pub async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a peer");
    let addr = listener.local_addr().expect("peer address");
    (listener, addr)
}

/// Serves `router` over plain HTTP/1.1 until the test ends.
pub fn serve_http(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
}

/// The configuration parsed from `vars` alone (no `.env`, no environment).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let mut all = vec![("APP_ENV".to_owned(), "test".to_owned())];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Config::from_vars(all).expect("test configuration")
}

/// Checks an ES256 JWT against a P-256 public key (SEC1 bytes), independently of the
/// library that signed it, and returns its header and claims.
pub fn verify_es256(jwt: &str, public_key: &[u8]) -> Result<(Value, Value), String> {
    let (signed, signature) = jwt.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = signed.split_once('.').ok_or("not a JWT")?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
        .map_err(|_| "not a P-256 public key")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|raw| p256::ecdsa::Signature::from_slice(&raw).ok())
        .ok_or("the signature is not 64 bytes of r||s")?;
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify")?;
    let json = |part: &str| -> Result<Value, String> {
        let raw = URL_SAFE_NO_PAD.decode(part).map_err(|_| "not base64url")?;
        serde_json::from_slice(&raw).map_err(|_| "not JSON".to_owned())
    };
    let header = json(header)?;
    if header["alg"] != "ES256" {
        return Err(format!("alg is {}", header["alg"]));
    }
    Ok((header, json(claims)?))
}

/// Seconds since the epoch, as JWTs count.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
