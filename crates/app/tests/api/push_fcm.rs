//! FCM HTTP v1 against a local Google: a token endpoint that verifies the JWT-bearer grant
//! against the service account's public key, and a messages endpoint that checks the access
//! token and the message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aios_app::platform::breaker::Breakers;
use aios_app::platform::push::{DeviceToken, Push, PushError, PushMessage, PushService};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, routing::post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};

use crate::helpers::peers;

pub const PROJECT: &str = "aios-test";
pub const CLIENT_EMAIL: &str = "push@aios-test.iam.gserviceaccount.com";
pub const REGISTRATION_TOKEN: &str = "fcm-device-1:APA91bH-test_token";

/// The service account's key pair, made once: RSA key generation is the slow part.
fn service_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
}

#[derive(Clone, Copy)]
pub enum Reply {
    Accept,
    /// `UNREGISTERED`, as for an app that was uninstalled.
    Unregistered,
    /// `INVALID_ARGUMENT`, blaming the field given.
    InvalidArgument(&'static str),
    RateLimited,
    Unavailable,
}

pub struct Google {
    token_url: String,
    public_key: DecodingKey,
    access_tokens: Mutex<Vec<String>>,
    token_requests: AtomicUsize,
    pub messages: Mutex<Vec<Value>>,
    reply: Mutex<Reply>,
}

pub struct FcmPeer {
    pub google: Arc<Google>,
    token_url: String,
    api_url: String,
}

impl FcmPeer {
    pub async fn start() -> Self {
        let (listener, addr) = peers::listener().await;
        let base = format!("http://{addr}");
        let public = service_key().to_public_key();
        let google = Arc::new(Google {
            token_url: format!("{base}/token"),
            public_key: DecodingKey::from_rsa_components(
                &URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                &URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            )
            .unwrap(),
            access_tokens: Mutex::new(Vec::new()),
            token_requests: AtomicUsize::new(0),
            messages: Mutex::new(Vec::new()),
            reply: Mutex::new(Reply::Accept),
        });
        let router = axum::Router::new()
            .route("/token", post(grant))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(Arc::clone(&google));
        peers::serve_http(listener, router);
        Self {
            token_url: google.token_url.clone(),
            google,
            api_url: base,
        }
    }

    /// A `Push` with FCM configured from a service-account file naming `client_email`.
    pub fn push(&self, client_email: &str) -> Push {
        let vars = self.vars(client_email);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = peers::config(&vars);
        Push::from_config(&config.push, &Breakers::default()).unwrap()
    }

    /// The FCM variables of a service account naming `client_email`.
    pub fn vars(&self, client_email: &str) -> Vec<(&'static str, String)> {
        let account = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "key-1",
            "private_key": service_key().to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            "client_email": client_email,
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string();
        vec![
            ("FCM_SERVICE_ACCOUNT", account),
            ("FCM_TOKEN_URL", self.token_url.clone()),
            ("FCM_API_URL", self.api_url.clone()),
        ]
    }

    pub fn answer(&self, reply: Reply) {
        *self.google.reply.lock().unwrap() = reply;
    }
}

fn token() -> DeviceToken {
    DeviceToken::parse(PushService::Fcm, REGISTRATION_TOKEN).unwrap()
}

/// RFC 7523: the assertion must be signed by the account's key, for this endpoint.
async fn grant(State(google): State<Arc<Google>>, body: String) -> Response {
    google.token_requests.fetch_add(1, Ordering::SeqCst);
    let form: std::collections::HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let refuse = |description: String| {
        let body = json!({"error": "invalid_grant", "error_description": description});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("unsupported grant_type".to_owned());
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&google.token_url]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let assertion = form
        .get("assertion")
        .map(String::as_str)
        .unwrap_or_default();
    let decoded = match jsonwebtoken::decode::<Value>(assertion, &google.public_key, &validation) {
        Ok(decoded) => decoded,
        Err(err) => return refuse(format!("Invalid JWT: {err}")),
    };
    let claims = decoded.claims;
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    if claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging" {
        return refuse(format!("scope is {}", claims["scope"]));
    }
    if !(1..=3600).contains(&lifetime) || decoded.header.kid.as_deref() != Some("key-1") {
        return refuse("an assertion lives at most an hour and names its key".to_owned());
    }
    let access_token = format!("ya29.test-{}", uuid::Uuid::new_v4().simple());
    google
        .access_tokens
        .lock()
        .unwrap()
        .push(access_token.clone());
    Json(json!({"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

async fn send(
    State(google): State<Arc<Google>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let error = |status: StatusCode, rpc: &str, message: &str, details: Value| {
        let body = json!({"error": {"code": status.as_u16(), "status": rpc, "message": message, "details": details}});
        (status, Json(body)).into_response()
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !google
        .access_tokens
        .lock()
        .unwrap()
        .iter()
        .any(|t| t == bearer)
    {
        let message = "Request had invalid authentication credentials.";
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            message,
            json!([]),
        );
    }
    let message = &body["message"];
    let well_formed = project == PROJECT
        && message["token"].is_string()
        && message["notification"]["title"].is_string()
        && message["notification"]["body"].is_string()
        && message["data"]
            .as_object()
            .is_some_and(|d| d.values().all(Value::is_string));
    if !well_formed {
        let message = "Invalid JSON payload received.";
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            message,
            json!([]),
        );
    }
    google.messages.lock().unwrap().push(body.clone());
    let fcm_error = |code: &str| json!({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code});
    match *google.reply.lock().unwrap() {
        Reply::Accept => {
            Json(json!({"name": format!("projects/{PROJECT}/messages/0:1")})).into_response()
        }
        Reply::Unregistered => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
            json!([fcm_error("UNREGISTERED")]),
        ),
        Reply::InvalidArgument(field) => error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            &format!("Invalid value at '{field}'"),
            json!([fcm_error("INVALID_ARGUMENT"),
                   {"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": "Invalid value"}]}]),
        ),
        Reply::RateLimited => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded.",
                json!([fcm_error("QUOTA_EXCEEDED")]),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "30".parse().unwrap());
            response
        }
        Reply::Unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            json!([fcm_error("UNAVAILABLE")]),
        ),
    }
}

#[tokio::test]
async fn one_access_token_serves_several_notification_messages() {
    let peer = FcmPeer::start().await;
    let push = peer.push(CLIENT_EMAIL);
    let mut message = PushMessage::new("New comment", "Ada replied to you");
    message.data.insert("postId".to_owned(), "p-7".to_owned());
    for _ in 0..3 {
        push.send(&token(), &message).await.unwrap();
    }
    assert_eq!(peer.google.token_requests.load(Ordering::SeqCst), 1);
    let messages = peer.google.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 3);
    let sent = &messages[0]["message"];
    assert_eq!(sent["token"], REGISTRATION_TOKEN);
    assert_eq!(
        sent["notification"],
        json!({"title": "New comment", "body": "Ada replied to you"})
    );
    assert_eq!(sent["data"], json!({"postId": "p-7"}));
    assert_eq!(sent["android"]["priority"], "HIGH");
    assert_eq!(sent["android"]["ttl"], "86400s");
}

#[tokio::test]
async fn an_unregistered_or_invalid_token_is_gone_but_a_bad_message_is_not() {
    let peer = FcmPeer::start().await;
    let push = peer.push(CLIENT_EMAIL);
    let message = PushMessage::new("t", "b");
    peer.answer(Reply::Unregistered);
    assert_eq!(push.send(&token(), &message).await, Err(PushError::Gone));
    peer.answer(Reply::InvalidArgument("message.token"));
    assert_eq!(push.send(&token(), &message).await, Err(PushError::Gone));
    peer.answer(Reply::InvalidArgument("message.data"));
    assert!(matches!(
        push.send(&token(), &message).await,
        Err(PushError::Permanent(reason)) if reason.contains("INVALID_ARGUMENT")
    ));
}

#[tokio::test]
async fn quota_and_outages_are_retried_honouring_retry_after() {
    let peer = FcmPeer::start().await;
    let push = peer.push(CLIENT_EMAIL);
    let message = PushMessage::new("t", "b");
    peer.answer(Reply::RateLimited);
    assert!(matches!(
        push.send(&token(), &message).await,
        Err(PushError::Retry { retry_after: Some(wait), .. }) if wait == Duration::from_secs(30)
    ));
    peer.answer(Reply::Unavailable);
    assert!(matches!(
        push.send(&token(), &message).await,
        Err(PushError::Retry {
            retry_after: None,
            ..
        })
    ));
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_on_the_next_send() {
    let peer = FcmPeer::start().await;
    let push = peer.push(CLIENT_EMAIL);
    let message = PushMessage::new("t", "b");
    push.send(&token(), &message).await.unwrap();
    peer.google.access_tokens.lock().unwrap().clear();
    assert!(matches!(
        push.send(&token(), &message).await,
        Err(PushError::Retry { .. })
    ));
    push.send(&token(), &message).await.unwrap();
    assert_eq!(peer.google.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_service_account_the_token_endpoint_refuses_fails_permanently() {
    let peer = FcmPeer::start().await;
    let push = peer.push("someone-else@aios-test.iam.gserviceaccount.com");
    let err = push
        .send(&token(), &PushMessage::new("t", "b"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PushError::Permanent(reason) if reason.contains("invalid_grant")),
        "{err:?}"
    );
    assert!(peer.google.messages.lock().unwrap().is_empty());
}
