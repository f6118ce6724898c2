//! The push providers: Web Push (VAPID), Firebase Cloud Messaging (HTTP v1) and APNs
//! (token-based). Each one is configured by its own variables or not at all; a provider that
//! is half configured, or whose key does not parse, is a configuration error.

use std::time::Duration;

use secrecy::ExposeSecret as _;

use super::Vars;
use crate::platform::push::credentials::{
    ApnsKey, ServiceAccount, VapidKeyError, VapidKeys, is_apple_id,
};

pub const FCM_API_URL: &str = "https://fcm.googleapis.com";
pub const APNS_PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const APNS_SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";

pub struct PushConfig {
    /// Bound on one request to a provider, from connecting to the end of the answer.
    pub timeout: Duration,
    /// `PUSH_CA_FILE`: certificates (PEM) trusted besides the system's, for every provider.
    pub extra_ca_pem: Option<Vec<u8>>,
    pub web_push: Option<WebPushConfig>,
    pub fcm: Option<FcmConfig>,
    pub apns: Option<ApnsConfig>,
}

pub struct WebPushConfig {
    pub keys: VapidKeys,
    /// The VAPID `sub`: a `mailto:` or `https:` contact for the push services' operators.
    pub subject: String,
}

pub struct FcmConfig {
    pub account: ServiceAccount,
    /// Where the JWT-bearer grant is posted (and the assertion's `aud`).
    pub token_url: String,
    /// Base of `/v1/projects/{project}/messages:send`.
    pub api_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsEnvironment {
    Production,
    Sandbox,
}

pub struct ApnsConfig {
    pub key: ApnsKey,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: String,
    pub environment: ApnsEnvironment,
    /// Base of `/3/device/{token}`: the environment's host unless `APNS_URL` replaces it.
    pub url: String,
}

impl Vars {
    pub(super) fn push(&mut self, production: bool) -> PushConfig {
        let extra_ca_pem = self
            .raw("PUSH_CA_FILE")
            .map(str::to_owned)
            .and_then(|path| {
                let pem = std::fs::read(&path)
                    .map_err(|err| format!("cannot read {path:?}: {err}"))
                    .and_then(|pem| match reqwest::Certificate::from_pem_bundle(&pem) {
                        Ok(certs) if !certs.is_empty() => Ok(pem),
                        _ => Err(format!("{path:?} holds no PEM certificate")),
                    });
                pem.map_err(|message| self.fail("PUSH_CA_FILE", message))
                    .ok()
            });
        PushConfig {
            timeout: self.secs("PUSH_TIMEOUT_SECS", 10, 1, 120),
            extra_ca_pem,
            web_push: self.web_push(),
            fcm: self.fcm(production),
            apns: self.apns(),
        }
    }

    fn web_push(&mut self) -> Option<WebPushConfig> {
        let vars = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"];
        if !self.all_or_none(&vars) {
            return None;
        }
        let public = self.raw("VAPID_PUBLIC_KEY")?.to_owned();
        let private = self.secret("VAPID_PRIVATE_KEY")?;
        let subject = self.string("VAPID_SUBJECT", "");
        let contact = subject
            .strip_prefix("mailto:")
            .map(|address| address.contains('@'))
            .unwrap_or_else(|| {
                subject.starts_with("https://") && reqwest::Url::parse(&subject).is_ok()
            });
        if !contact {
            self.fail(
                "VAPID_SUBJECT",
                "must be a mailto: address or an https: URL where push services can reach you",
            );
        }
        let keys = match VapidKeys::from_base64url(&public, private.expose_secret()) {
            Ok(keys) => keys,
            Err(err @ VapidKeyError::Private(_)) => {
                self.fail("VAPID_PRIVATE_KEY", err.to_string());
                return None;
            }
            Err(err) => {
                self.fail("VAPID_PUBLIC_KEY", err.to_string());
                return None;
            }
        };
        contact.then_some(WebPushConfig { keys, subject })
    }

    fn fcm(&mut self, production: bool) -> Option<FcmConfig> {
        let token_url = self.push_url("FCM_TOKEN_URL", production);
        let api_url = self.push_url("FCM_API_URL", production);
        let Some(json) = self.inline_or_file("FCM_SERVICE_ACCOUNT", |v| v.starts_with('{')) else {
            for var in ["FCM_TOKEN_URL", "FCM_API_URL"] {
                if self.raw(var).is_some() {
                    self.fail(var, "is set but FCM_SERVICE_ACCOUNT is not");
                }
            }
            return None;
        };
        let account = ServiceAccount::from_json(&json)
            .map_err(|message| self.fail("FCM_SERVICE_ACCOUNT", message))
            .ok()?;
        Some(FcmConfig {
            token_url: token_url.unwrap_or_else(|| account.token_uri.clone()),
            api_url: api_url.unwrap_or_else(|| FCM_API_URL.to_owned()),
            account,
        })
    }

    fn apns(&mut self) -> Option<ApnsConfig> {
        let environment = match self.raw("APNS_ENVIRONMENT").map(str::to_ascii_lowercase) {
            None => ApnsEnvironment::Production,
            Some(value) if value == "production" => ApnsEnvironment::Production,
            Some(value) if value == "sandbox" || value == "development" => ApnsEnvironment::Sandbox,
            Some(other) => {
                let message = format!("expected production or sandbox, got {other:?}");
                self.fail("APNS_ENVIRONMENT", message);
                ApnsEnvironment::Production
            }
        };
        let url = self.push_url("APNS_URL", true);
        let vars = ["APNS_KEY", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC"];
        if vars.iter().all(|var| self.raw(var).is_none()) {
            if self.raw("APNS_URL").is_some() {
                self.fail("APNS_URL", "is set but APNS_KEY is not");
            }
            return None;
        }
        if !self.all_or_none(&vars) {
            return None;
        }
        let mut ok = true;
        for var in ["APNS_KEY_ID", "APNS_TEAM_ID"] {
            if !self.raw(var).is_some_and(is_apple_id) {
                self.fail(
                    var,
                    "must be Apple's 10-character id (uppercase letters and digits)",
                );
                ok = false;
            }
        }
        let pem = self.inline_or_file("APNS_KEY", |v| v.contains("-----BEGIN"))?;
        let key = ApnsKey::from_pem(&pem)
            .map_err(|message| self.fail("APNS_KEY", message))
            .ok()?;
        let url = url.unwrap_or_else(|| match environment {
            ApnsEnvironment::Production => APNS_PRODUCTION_URL.to_owned(),
            ApnsEnvironment::Sandbox => APNS_SANDBOX_URL.to_owned(),
        });
        ok.then(|| ApnsConfig {
            key,
            key_id: self.string("APNS_KEY_ID", ""),
            team_id: self.string("APNS_TEAM_ID", ""),
            topic: self.string("APNS_TOPIC", ""),
            environment,
            url,
        })
    }

    /// True when every one of `vars` is set, false when none is; otherwise names the missing.
    fn all_or_none(&mut self, vars: &[&'static str]) -> bool {
        let missing: Vec<&'static str> = vars
            .iter()
            .copied()
            .filter(|var| self.raw(var).is_none())
            .collect();
        if missing.len() == vars.len() {
            return false;
        }
        let set = vars.iter().find(|var| self.raw(var).is_some()).copied();
        for var in &missing {
            let message = format!("is required when {} is set", set.unwrap_or_default());
            self.fail(var, message);
        }
        missing.is_empty()
    }

    /// A credential given either inline or as the path of a file that holds it.
    fn inline_or_file(&mut self, var: &'static str, inline: fn(&str) -> bool) -> Option<String> {
        let value = self.secret(var)?;
        let value = value.expose_secret();
        if inline(value) {
            return Some(value.to_owned());
        }
        std::fs::read_to_string(value)
            .map_err(|err| {
                let message = format!("is neither the key itself nor a readable file: {err}");
                self.fail(var, message);
            })
            .ok()
    }

    /// A provider's base URL: `https://` (or `http://` for a local test peer, outside
    /// production), with no trailing slash.
    fn push_url(&mut self, var: &'static str, https_only: bool) -> Option<String> {
        let raw = self.raw(var)?.trim_end_matches('/').to_owned();
        let scheme_ok = match reqwest::Url::parse(&raw) {
            Ok(url) if url.scheme() == "https" => url.has_host(),
            Ok(url) if url.scheme() == "http" => url.has_host() && !https_only,
            _ => false,
        };
        if !scheme_ok {
            let expected = if https_only {
                "an https://"
            } else {
                "an http(s)://"
            };
            self.fail(var, format!("expected {expected} URL, got {raw:?}"));
            return None;
        }
        Some(raw)
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
