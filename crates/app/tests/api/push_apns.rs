//! APNs against a local Apple: HTTP/2 over TLS with a certificate of the test's CA (trusted
//! through `PUSH_CA_FILE`), verifying the ES256 provider token and the APNs headers.

use std::sync::{Arc, Mutex};

use aios_app::platform::breaker::Breakers;
use aios_app::platform::push::{DeviceToken, Push, PushError, PushMessage, PushService};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::{Json, routing::post};
use serde_json::{Value, json};

use crate::helpers::peers::{self, TestTls};

const KEY_ID: &str = "KEY123ABCD";
const TEAM_ID: &str = "TEAM987654";
pub const TOPIC: &str = "com.example.aios";

#[derive(Clone, Copy)]
pub enum Reply {
    Accept,
    /// 410 `Unregistered`: the app was removed from the device.
    Unregistered,
    /// 400 with this reason.
    BadRequest(&'static str),
    /// 403 `ExpiredProviderToken`, once.
    ExpiredProviderTokenOnce,
    Unavailable,
}

/// One request as Apple saw it, after its checks passed.
#[derive(Clone, Debug)]
pub struct Received {
    pub device: String,
    jwt: String,
    headers: HeaderMap,
    pub body: Value,
}

pub struct Apple {
    public_key: Vec<u8>,
    reply: Mutex<Reply>,
    received: Mutex<Vec<Received>>,
}

pub struct ApnsPeer {
    apple: Arc<Apple>,
    push: Push,
    /// The APNs variables, `PUSH_CA_FILE` included.
    pub vars: Vec<(&'static str, String)>,
    /// The test CA's certificate (PEM).
    pub ca_file: String,
    _tls: TestTls,
}

impl ApnsPeer {
    pub async fn start() -> Self {
        let tls = TestTls::new();
        let (listener, addr) = peers::listener().await;
        // What Apple hands out as AuthKey_<KEY_ID>.p8: a PKCS#8 P-256 key.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let apple = Arc::new(Apple {
            public_key: key.public_key_raw().to_vec(),
            reply: Mutex::new(Reply::Accept),
            received: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .route("/3/device/{token}", post(notify))
            .with_state(Arc::clone(&apple));
        tls.serve(listener, router).await;
        let url = format!("https://localhost:{}", addr.port());
        let vars: Vec<(&'static str, String)> = vec![
            ("APNS_KEY", key.serialize_pem()),
            ("APNS_KEY_ID", KEY_ID.to_owned()),
            ("APNS_TEAM_ID", TEAM_ID.to_owned()),
            ("APNS_TOPIC", TOPIC.to_owned()),
            ("APNS_ENVIRONMENT", "sandbox".to_owned()),
            ("APNS_URL", url),
            ("PUSH_CA_FILE", tls.ca_file()),
        ];
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = peers::config(&pairs);
        let push = Push::from_config(&config.push, &Breakers::default()).unwrap();
        Self {
            apple,
            push,
            ca_file: tls.ca_file(),
            vars,
            _tls: tls,
        }
    }

    pub fn answer(&self, reply: Reply) {
        *self.apple.reply.lock().unwrap() = reply;
    }

    pub fn received(&self) -> Vec<Received> {
        self.apple.received.lock().unwrap().clone()
    }
}

fn device() -> DeviceToken {
    DeviceToken::parse(PushService::Apns, &"5f".repeat(32)).unwrap()
}

fn reason(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({"reason": reason}))).into_response()
}

async fn notify(
    State(apple): State<Arc<Apple>>,
    Path(device): Path<String>,
    version: Version,
    headers: HeaderMap,
    body: String,
) -> Response {
    if version != Version::HTTP_2 {
        return reason(StatusCode::BAD_REQUEST, "APNs speaks HTTP/2 only");
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let Some(jwt) = header("authorization").strip_prefix("bearer ") else {
        return reason(StatusCode::FORBIDDEN, "MissingProviderToken");
    };
    let now = peers::unix_now();
    let token_ok = peers::verify_es256(jwt, &apple.public_key).is_ok_and(|(head, claims)| {
        let iat = claims["iat"].as_i64().unwrap_or(0);
        head["kid"] == KEY_ID && claims["iss"] == TEAM_ID && iat <= now + 60 && now - iat < 3600
    });
    if !token_ok {
        return reason(StatusCode::FORBIDDEN, "InvalidProviderToken");
    }
    if header("apns-topic") != TOPIC {
        return reason(StatusCode::BAD_REQUEST, "DeviceTokenNotForTopic");
    }
    let expiration_ok = header("apns-expiration").parse::<i64>().is_ok();
    if header("apns-push-type") != "alert"
        || !["5", "10"].contains(&header("apns-priority"))
        || !expiration_ok
    {
        return reason(StatusCode::BAD_REQUEST, "BadPriority");
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return reason(StatusCode::BAD_REQUEST, "PayloadEmpty");
    };
    apple.received.lock().unwrap().push(Received {
        device,
        jwt: jwt.to_owned(),
        headers: headers.clone(),
        body,
    });
    let reply = *apple.reply.lock().unwrap();
    match reply {
        Reply::Accept => (
            StatusCode::OK,
            [("apns-id", uuid::Uuid::new_v4().to_string())],
        )
            .into_response(),
        Reply::Unregistered => (
            StatusCode::GONE,
            Json(json!({"reason": "Unregistered", "timestamp": now * 1000})),
        )
            .into_response(),
        Reply::BadRequest(why) => reason(StatusCode::BAD_REQUEST, why),
        Reply::ExpiredProviderTokenOnce => {
            *apple.reply.lock().unwrap() = Reply::Accept;
            reason(StatusCode::FORBIDDEN, "ExpiredProviderToken")
        }
        Reply::Unavailable => reason(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
    }
}

#[tokio::test]
async fn a_notification_goes_over_http2_with_a_verified_provider_token_and_its_headers() {
    let peer = ApnsPeer::start().await;
    let mut message = PushMessage::new("Build finished", "main is green");
    message.data.insert("buildId".to_owned(), "b-19".to_owned());
    message.collapse_key = Some("build-main".to_owned());
    peer.push.send(&device(), &message).await.unwrap();
    peer.push.send(&device(), &message).await.unwrap();

    let received = peer.received();
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.device, "5f".repeat(32));
    assert_eq!(
        first.body,
        json!({"aps": {"alert": {"title": "Build finished", "body": "main is green"}},
               "buildId": "b-19"})
    );
    let header = |name: &str| {
        first
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("apns-priority"), "10");
    assert_eq!(header("apns-collapse-id"), "build-main");
    let expiration: i64 = header("apns-expiration").parse().unwrap();
    let in_a_day = peers::unix_now() + 86_400;
    assert!(
        (in_a_day - 5..=in_a_day).contains(&expiration),
        "{expiration}"
    );
    assert_eq!(received[1].jwt, first.jwt, "the provider token is reused");
}

#[tokio::test]
async fn an_unregistered_or_bad_device_token_is_gone() {
    let peer = ApnsPeer::start().await;
    let message = PushMessage::new("t", "b");
    peer.answer(Reply::Unregistered);
    assert_eq!(
        peer.push.send(&device(), &message).await,
        Err(PushError::Gone)
    );
    peer.answer(Reply::BadRequest("BadDeviceToken"));
    assert_eq!(
        peer.push.send(&device(), &message).await,
        Err(PushError::Gone)
    );
    peer.answer(Reply::BadRequest("BadCollapseId"));
    assert!(matches!(
        peer.push.send(&device(), &message).await,
        Err(PushError::Permanent(reason)) if reason.contains("BadCollapseId")
    ));
    peer.answer(Reply::Unavailable);
    assert!(matches!(
        peer.push.send(&device(), &message).await,
        Err(PushError::Retry { .. })
    ));
}

#[tokio::test]
async fn an_expired_provider_token_is_retried_with_a_new_one() {
    let peer = ApnsPeer::start().await;
    let message = PushMessage::new("t", "b");
    peer.answer(Reply::ExpiredProviderTokenOnce);
    assert!(matches!(
        peer.push.send(&device(), &message).await,
        Err(PushError::Retry { .. })
    ));
    peer.push.send(&device(), &message).await.unwrap();
    assert_eq!(peer.received().len(), 2);
}
