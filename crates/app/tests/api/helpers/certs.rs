//! A throw-away CA and a `localhost` server certificate signed by it, made with rcgen.
//!
//! A CA plus a leaf (rather than one self-signed leaf) because webpki, under rustls, does not
//! accept a self-signed end-entity certificate as its own trust anchor.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};

pub struct TestPki {
    pub ca_pem: Vec<u8>,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

pub fn make(dir: &Path) -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "aios-server test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();

    let cert_path = dir.join("server.crt");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    TestPki {
        ca_pem: ca.pem().into_bytes(),
        cert_path,
        key_path,
    }
}
