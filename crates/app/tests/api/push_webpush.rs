//! Web Push against a local push service that does what a real one does with a message: it
//! checks the VAPID token (RFC 8292) and, playing the browser, decrypts the payload with the
//! subscription's private key (RFC 8291), with its own HKDF and ECDH code.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aios_app::platform::breaker::Breakers;
use aios_app::platform::jobs::error::JobError;
use aios_app::platform::push::credentials::VapidKeys;
use aios_app::platform::push::{
    DeviceToken, Push, PushError, PushMessage, PushOutcome, PushService, Urgency,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand::Rng as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::peers::{self, TestTls};

/// What the push service saw of one accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub payload: Value,
    pub ttl: String,
    pub urgency: String,
    pub topic: Option<String>,
    pub version: Version,
}

/// A push service for one subscription, whose browser keys it holds.
pub struct LocalPushService {
    browser_key: p256::SecretKey,
    auth_secret: [u8; 16],
    vapid_public: Vec<u8>,
    audience: String,
    subject: String,
    /// The status (and `Retry-After`) it answers once a message checks out.
    pub reply: Mutex<(StatusCode, Option<&'static str>)>,
    pub received: Mutex<Vec<Received>>,
    pub requests: AtomicUsize,
}

pub struct WebPushPeer {
    pub service: Arc<LocalPushService>,
    /// The subscription as the browser would hand it to the app.
    pub subscription: String,
    pub vars: Vec<(&'static str, String)>,
    _tls: TestTls,
}

impl WebPushPeer {
    /// A push service over TLS, a browser subscription to it, and the VAPID variables.
    pub async fn start() -> Self {
        let tls = TestTls::new();
        let (listener, addr) = peers::listener().await;
        let keys = VapidKeys::generate();
        // A browser makes a P-256 key pair and a 16-byte secret per subscription.
        let browser_key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let mut auth_secret = [0u8; 16];
        rand::rng().fill_bytes(&mut auth_secret);
        let audience = format!("https://localhost:{}", addr.port());
        let subscription = json!({
            "endpoint": format!("{audience}/push/subscription-1"),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(browser_key.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(auth_secret),
            },
        })
        .to_string();
        let subject = "mailto:push-test@example.com";
        let service = Arc::new(LocalPushService {
            browser_key,
            auth_secret,
            vapid_public: URL_SAFE_NO_PAD.decode(keys.public_key()).unwrap(),
            audience,
            subject: subject.to_owned(),
            reply: Mutex::new((StatusCode::CREATED, None)),
            received: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
        });
        let router = axum::Router::new()
            .route("/push/{id}", axum::routing::post(accept))
            .with_state(Arc::clone(&service));
        tls.serve(listener, router).await;
        let vars = vec![
            ("VAPID_PUBLIC_KEY", keys.public_key().to_owned()),
            (
                "VAPID_PRIVATE_KEY",
                keys.private_key().expose_secret().to_owned(),
            ),
            ("VAPID_SUBJECT", subject.to_owned()),
            ("PUSH_CA_FILE", tls.ca_file()),
        ];
        Self {
            service,
            subscription,
            vars,
            _tls: tls,
        }
    }

    pub fn push(&self) -> Push {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Push::from_config(&peers::config(&vars).push, &Breakers::default()).unwrap()
    }

    pub fn token(&self) -> DeviceToken {
        DeviceToken::parse(PushService::WebPush, &self.subscription).unwrap()
    }

    pub fn answer(&self, status: StatusCode, retry_after: Option<&'static str>) {
        *self.service.reply.lock().unwrap() = (status, retry_after);
    }
}

async fn accept(
    State(service): State<Arc<LocalPushService>>,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    service.requests.fetch_add(1, Ordering::SeqCst);
    let checked = service
        .check_vapid(&headers)
        .and_then(|()| service.decrypt(&headers, &body));
    let payload = match checked {
        Ok(payload) => payload,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    service.received.lock().unwrap().push(Received {
        payload,
        ttl: text("ttl").unwrap_or_default(),
        urgency: text("urgency").unwrap_or_default(),
        topic: text("topic"),
        version,
    });
    let (status, retry_after) = *service.reply.lock().unwrap();
    let mut response = status.into_response();
    if let Some(wait) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.parse().unwrap());
    }
    response
}

impl LocalPushService {
    /// RFC 8292: `vapid t=<JWT>, k=<key>`, the JWT signed by that key, for this origin.
    fn check_vapid(&self, headers: &HeaderMap) -> Result<(), String> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("vapid "))
            .ok_or("no vapid Authorization")?;
        let param = |name: &str| {
            value
                .split(',')
                .find_map(|part| part.trim().strip_prefix(name))
                .map(str::to_owned)
        };
        let (jwt, key) = (param("t=").ok_or("no t=")?, param("k=").ok_or("no k=")?);
        let key = URL_SAFE_NO_PAD
            .decode(key)
            .map_err(|_| "k is not base64url")?;
        if key != self.vapid_public {
            return Err("k is not the application server key".to_owned());
        }
        let (_, claims) = peers::verify_es256(&jwt, &key)?;
        let now = peers::unix_now();
        let exp = claims["exp"].as_i64().ok_or("no exp")?;
        if claims["aud"] != self.audience.as_str() {
            return Err(format!("aud is {}, not {}", claims["aud"], self.audience));
        }
        if !(now < exp && exp <= now + 24 * 3600) {
            return Err(format!("exp {exp} is not within 24 hours of {now}"));
        }
        if claims["sub"] != self.subject.as_str() {
            return Err(format!("sub is {}", claims["sub"]));
        }
        Ok(())
    }

    /// The browser's side of RFC 8291 and RFC 8188 (one record).
    fn decrypt(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
        if headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()) != Some(b"aes128gcm") {
            return Err("Content-Encoding is not aes128gcm".to_owned());
        }
        if body.len() > 4096 || body.len() < 86 + 17 || body[20] != 65 {
            return Err(format!(
                "not a one-record aes128gcm body ({} bytes)",
                body.len()
            ));
        }
        let (salt, sender_public, record) = (&body[..16], &body[21..86], &body[86..]);
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap());
        if record.len() > record_size as usize {
            return Err("the record is larger than the record size".to_owned());
        }
        let sender = p256::PublicKey::from_sec1_bytes(sender_public)
            .map_err(|_| "the key id is not a P-256 key")?;
        let shared =
            p256::ecdh::diffie_hellman(self.browser_key.to_nonzero_scalar(), sender.as_affine());
        let receiver_public = self.browser_key.public_key().to_encoded_point(false);
        // HKDF-SHA-256 written out with HMAC (RFC 5869): a single block of output each time.
        let hmac = |key: &[u8], parts: &[&[u8]]| {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            parts.iter().for_each(|part| mac.update(part));
            mac.finalize().into_bytes().to_vec()
        };
        let prk_key = hmac(&self.auth_secret, &[shared.raw_secret_bytes()]);
        let info: &[&[u8]] = &[
            b"WebPush: info\0",
            receiver_public.as_bytes(),
            sender_public,
            &[1],
        ];
        let ikm = hmac(&prk_key, info);
        let prk = hmac(salt, &[&ikm]);
        let cek = &hmac(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]])[..16];
        let nonce = &hmac(&prk, &[b"Content-Encoding: nonce\0", &[1]])[..12];
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, cek).unwrap(),
        );
        let mut sealed = record.to_vec();
        let plain = key
            .open_in_place(
                ring::aead::Nonce::try_assume_unique_for_key(nonce).unwrap(),
                ring::aead::Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| "the record does not decrypt with the subscription's keys")?;
        let end = plain.iter().rposition(|b| *b != 0).ok_or("no delimiter")?;
        if plain[end] != 2 {
            return Err("the last record does not end with 0x02".to_owned());
        }
        serde_json::from_slice(&plain[..end]).map_err(|_| "the payload is not JSON".to_owned())
    }
}

#[tokio::test]
async fn a_web_push_message_arrives_signed_and_decrypts_to_the_same_title_and_body() {
    let peer = WebPushPeer::start().await;
    let push = peer.push();
    let mut message = PushMessage::new("Café at 5?", "Bring the ☕ voucher");
    message.data.insert("chatId".to_owned(), "42".to_owned());
    message.collapse_key = Some("chat-42".to_owned());
    message.urgency = Urgency::Normal;
    message.ttl = Duration::from_secs(600);

    push.send(&peer.token(), &message).await.unwrap();
    assert_eq!(
        push.deliver(&peer.token(), &message).await.unwrap(),
        PushOutcome::Sent
    );

    let received = peer.service.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.payload["title"], "Café at 5?");
    assert_eq!(first.payload["body"], "Bring the ☕ voucher");
    assert_eq!(first.payload["data"], json!({"chatId": "42"}));
    assert_eq!(first.ttl, "600");
    assert_eq!(first.urgency, "normal");
    assert_eq!(first.topic.as_deref(), Some("chat-42"));
    assert_eq!(
        first.version,
        Version::HTTP_2,
        "ALPN picks HTTP/2 when offered"
    );
}

#[tokio::test]
async fn an_expired_subscription_is_gone() {
    let peer = WebPushPeer::start().await;
    let push = peer.push();
    let message = PushMessage::new("t", "b");
    for status in [StatusCode::GONE, StatusCode::NOT_FOUND] {
        peer.answer(status, None);
        assert_eq!(
            push.send(&peer.token(), &message).await,
            Err(PushError::Gone)
        );
    }
    assert_eq!(
        push.deliver(&peer.token(), &message).await.unwrap(),
        PushOutcome::Gone
    );
}

#[tokio::test]
async fn a_rate_limited_push_is_retried_after_the_services_retry_after() {
    let peer = WebPushPeer::start().await;
    let push = peer.push();
    peer.answer(StatusCode::TOO_MANY_REQUESTS, Some("120"));
    let message = PushMessage::new("t", "b");
    let err = push.send(&peer.token(), &message).await.unwrap_err();
    assert!(
        matches!(&err, PushError::Retry { retry_after: Some(wait), .. } if *wait == Duration::from_secs(120)),
        "{err:?}"
    );
    assert!(matches!(
        push.deliver(&peer.token(), &message).await,
        Err(JobError::Retry { retry_after: Some(wait), .. }) if wait == Duration::from_secs(120)
    ));
    peer.answer(StatusCode::BAD_REQUEST, None);
    assert!(matches!(
        push.send(&peer.token(), &message).await,
        Err(PushError::Permanent(_))
    ));
}

#[tokio::test]
async fn a_payload_too_large_for_web_push_is_refused_before_sending() {
    let peer = WebPushPeer::start().await;
    let message = PushMessage::new("t", "x".repeat(4000));
    let err = peer.push().send(&peer.token(), &message).await.unwrap_err();
    assert!(
        matches!(err, PushError::Permanent(ref reason) if reason.contains("3993")),
        "{err:?}"
    );
    assert_eq!(peer.service.requests.load(Ordering::SeqCst), 0);
}
