#![expect(clippy::unwrap_used, reason = "a failing test panics")]

use std::sync::OnceLock;

use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use secrecy::ExposeSecret as _;

use super::super::{Config, ConfigError};
use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_vars(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn failing(pairs: &[(&str, &str)]) -> Vec<&'static str> {
    match parse(pairs) {
        Ok(_) => Vec::new(),
        Err(ConfigError(issues)) => issues.iter().map(|i| i.var).collect(),
    }
}

/// One RSA key for every test: generating it is the slow part.
fn rsa_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    })
}

fn service_account(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "aios-test",
        "private_key_id": "key-1",
        "private_key": rsa_pem(),
        "client_email": "push@aios-test.iam.gserviceaccount.com",
        "token_uri": token_uri,
    })
    .to_string()
}

fn p8() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem()
}

#[test]
fn without_push_variables_no_provider_is_configured() {
    let config = parse(&[]).unwrap().push;
    assert!(config.web_push.is_none() && config.fcm.is_none() && config.apns.is_none());
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert!(config.extra_ca_pem.is_none());
}

#[test]
fn vapid_needs_both_keys_a_contact_and_a_matching_pair() {
    let keys = VapidKeys::generate();
    let private = keys.private_key();
    let private = private.expose_secret();
    let public = keys.public_key();
    let config = parse(&[
        ("VAPID_PUBLIC_KEY", public),
        ("VAPID_PRIVATE_KEY", private),
        ("VAPID_SUBJECT", "mailto:ops@example.com"),
    ])
    .unwrap();
    let web_push = config.push.web_push.unwrap();
    assert_eq!(web_push.keys.public_key(), public);
    assert_eq!(web_push.subject, "mailto:ops@example.com");

    assert_eq!(
        failing(&[("VAPID_PUBLIC_KEY", public)]),
        ["VAPID_PRIVATE_KEY", "VAPID_SUBJECT"]
    );
    let subject = |s| {
        failing(&[
            ("VAPID_PUBLIC_KEY", public),
            ("VAPID_PRIVATE_KEY", private),
            ("VAPID_SUBJECT", s),
        ])
    };
    assert_eq!(subject("ops@example.com"), ["VAPID_SUBJECT"]);
    assert_eq!(subject("http://example.com"), ["VAPID_SUBJECT"]);
    assert!(subject("https://example.com/contact").is_empty());

    let other = VapidKeys::generate();
    assert_eq!(
        failing(&[
            ("VAPID_PUBLIC_KEY", other.public_key()),
            ("VAPID_PRIVATE_KEY", private),
            ("VAPID_SUBJECT", "mailto:ops@example.com"),
        ]),
        ["VAPID_PUBLIC_KEY"]
    );
}

#[test]
fn fcm_takes_the_service_account_inline_or_from_a_file() {
    let json = service_account("https://oauth2.example.com/token");
    let config = parse(&[("FCM_SERVICE_ACCOUNT", &json)]).unwrap().push;
    let fcm = config.fcm.unwrap();
    assert_eq!(fcm.account.project_id, "aios-test");
    assert_eq!(fcm.account.private_key_id.as_deref(), Some("key-1"));
    assert_eq!(fcm.token_url, "https://oauth2.example.com/token");
    assert_eq!(fcm.api_url, FCM_API_URL);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service-account.json");
    std::fs::write(&path, &json).unwrap();
    let path = path.display().to_string();
    let fcm = parse(&[
        ("FCM_SERVICE_ACCOUNT", &path),
        ("FCM_TOKEN_URL", "http://127.0.0.1:9/token"),
        ("FCM_API_URL", "http://127.0.0.1:9/"),
    ])
    .unwrap()
    .push
    .fcm
    .unwrap();
    assert_eq!(fcm.token_url, "http://127.0.0.1:9/token");
    assert_eq!(fcm.api_url, "http://127.0.0.1:9", "no trailing slash");
}

#[test]
fn a_broken_fcm_setting_is_named() {
    let missing = failing(&[("FCM_SERVICE_ACCOUNT", "/nonexistent/service-account.json")]);
    assert_eq!(missing, ["FCM_SERVICE_ACCOUNT"]);
    let not_a_key = service_account("https://oauth2.example.com/token")
        .replace("BEGIN PRIVATE KEY", "BEGIN CERTIFICATE");
    assert_eq!(
        failing(&[("FCM_SERVICE_ACCOUNT", &not_a_key)]),
        ["FCM_SERVICE_ACCOUNT"]
    );
    assert_eq!(
        failing(&[("FCM_API_URL", "https://fcm.example.com")]),
        ["FCM_API_URL"]
    );

    let secret = "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy";
    let json = service_account("https://oauth2.example.com/token");
    let production = [
        ("APP_ENV", "production"),
        ("JWT_SECRET", secret),
        ("METRICS_TOKEN", "scrape-token"),
        ("MAIL_TRANSPORT", "log"),
        ("FCM_SERVICE_ACCOUNT", json.as_str()),
        ("FCM_API_URL", "http://fcm.internal"),
    ];
    assert_eq!(
        failing(&production),
        ["FCM_API_URL"],
        "plain HTTP only for tests"
    );
}

#[test]
fn apns_needs_its_four_variables_and_picks_the_host_by_environment() {
    let key = p8();
    let base = [
        ("APNS_KEY", key.as_str()),
        ("APNS_KEY_ID", "ABC123DEFG"),
        ("APNS_TEAM_ID", "TEAM123456"),
        ("APNS_TOPIC", "com.example.aios"),
    ];
    let apns = parse(&base).unwrap().push.apns.unwrap();
    assert_eq!(apns.environment, ApnsEnvironment::Production);
    assert_eq!(apns.url, APNS_PRODUCTION_URL);
    assert_eq!(apns.topic, "com.example.aios");

    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = base.to_vec();
        vars.extend_from_slice(extra);
        vars
    };
    let sandbox = parse(&with(&[("APNS_ENVIRONMENT", "sandbox")])).unwrap();
    assert_eq!(sandbox.push.apns.unwrap().url, APNS_SANDBOX_URL);
    let local = parse(&with(&[("APNS_URL", "https://127.0.0.1:8443/")])).unwrap();
    assert_eq!(local.push.apns.unwrap().url, "https://127.0.0.1:8443");

    assert_eq!(failing(&base[..3]), ["APNS_TOPIC"]);
    assert_eq!(
        failing(&with(&[("APNS_URL", "http://127.0.0.1:8443")])),
        ["APNS_URL"]
    );
    assert_eq!(
        failing(&with(&[("APNS_ENVIRONMENT", "staging")])),
        ["APNS_ENVIRONMENT"]
    );
    let mut bad_id = base.to_vec();
    bad_id[1] = ("APNS_KEY_ID", "abc");
    assert_eq!(failing(&bad_id), ["APNS_KEY_ID"]);
    let mut one_line = base.to_vec();
    let escaped = key.trim().replace('\n', "\\n");
    one_line[0] = ("APNS_KEY", &escaped);
    assert!(
        failing(&one_line).is_empty(),
        "a PEM pasted on one line with \\n"
    );
    let mut not_p256 = base.to_vec();
    not_p256[0] = ("APNS_KEY", rsa_pem());
    assert_eq!(failing(&not_p256), ["APNS_KEY"]);
}

#[test]
fn the_extra_ca_file_must_hold_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    let path = path.display().to_string();
    assert_eq!(failing(&[("PUSH_CA_FILE", &path)]), ["PUSH_CA_FILE"]);
    let ca = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
    let config = parse(&[("PUSH_CA_FILE", &path)]).unwrap();
    assert!(config.push.extra_ca_pem.is_some());
    assert_eq!(
        failing(&[("PUSH_TIMEOUT_SECS", "0")]),
        ["PUSH_TIMEOUT_SECS"]
    );
}
