//! [`Push`]: the configured providers, each behind its circuit breaker, counted in metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tracing::instrument;

use super::apns::Apns;
use super::fcm::Fcm;
use super::webpush::WebPush;
use super::{DeviceToken, PushError, PushMessage, PushProvider, PushService};
use crate::platform::breaker::{BreakerConfig, Breakers, CircuitBreaker};
use crate::platform::config::PushConfig;
use crate::platform::jobs::error::JobError;

/// Five transient failures in a row open a provider's circuit for 30 s: enough to ride out a
/// blip, short enough that deferred notifications are not late by much.
fn breaker_config() -> BreakerConfig {
    BreakerConfig {
        failure_threshold: 5,
        cool_down: Duration::from_secs(30),
    }
}

/// What a job does next, once [`Push::deliver`] has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Sent,
    /// The provider says the token is dead: delete the device.
    Gone,
    /// The device's provider is not configured here; nothing was sent.
    Skipped,
}

struct Guarded {
    provider: Box<dyn PushProvider>,
    breaker: Arc<CircuitBreaker>,
}

pub struct Push {
    web_push: Option<Guarded>,
    fcm: Option<Guarded>,
    apns: Option<Guarded>,
    /// Per service: whether skipping it was already logged at `warn`.
    skip_logged: [AtomicBool; 3],
}

impl Push {
    /// The providers whose variables are set; their breakers are registered for `/health`.
    pub fn from_config(config: &PushConfig, breakers: &Breakers) -> anyhow::Result<Self> {
        let guard = |service: PushService, provider: Box<dyn PushProvider>| Guarded {
            provider,
            breaker: breakers.get_or_create(service.breaker_name(), breaker_config()),
        };
        let push = Self {
            web_push: match &config.web_push {
                Some(web_push) => Some(guard(
                    PushService::WebPush,
                    Box::new(WebPush::new(web_push, config)?),
                )),
                None => None,
            },
            fcm: match &config.fcm {
                Some(fcm) => Some(guard(PushService::Fcm, Box::new(Fcm::new(fcm, config)?))),
                None => None,
            },
            apns: match &config.apns {
                Some(apns) => Some(guard(PushService::Apns, Box::new(Apns::new(apns, config)?))),
                None => None,
            },
            skip_logged: Default::default(),
        };
        let configured: Vec<&str> = push
            .configured()
            .into_iter()
            .map(PushService::name)
            .collect();
        tracing::debug!(?configured, "push providers");
        Ok(push)
    }

    fn guarded(&self, service: PushService) -> Option<&Guarded> {
        match service {
            PushService::WebPush => self.web_push.as_ref(),
            PushService::Fcm => self.fcm.as_ref(),
            PushService::Apns => self.apns.as_ref(),
        }
    }

    pub fn is_configured(&self, service: PushService) -> bool {
        self.guarded(service).is_some()
    }

    pub fn configured(&self) -> Vec<PushService> {
        PushService::ALL
            .into_iter()
            .filter(|service| self.is_configured(*service))
            .collect()
    }

    /// Sends one notification through the token's provider, unless its circuit is open.
    #[instrument(skip_all, fields(provider = target.service().name()))]
    pub async fn send(&self, target: &DeviceToken, message: &PushMessage) -> Result<(), PushError> {
        let service = target.service();
        let provider = service.name();
        let guarded = self
            .guarded(service)
            .ok_or(PushError::NotConfigured(service))?;
        let permit = match guarded.breaker.try_acquire() {
            Ok(permit) => permit,
            Err(rejected) => {
                metrics::counter!("push_failed_total", "provider" => provider, "kind" => "circuit_open")
                    .increment(1);
                return Err(PushError::CircuitOpen {
                    service,
                    retry_in: rejected.retry_in,
                });
            }
        };
        let started = Instant::now();
        let result = guarded.provider.send(target, message).await;
        metrics::histogram!("push_delivery_duration_seconds", "provider" => provider)
            .record(started.elapsed().as_secs_f64());
        match &result {
            Ok(()) => {
                permit.success();
                metrics::counter!("push_sent_total", "provider" => provider).increment(1);
            }
            Err(PushError::Gone) => {
                // The provider answered: it is up, whatever it thinks of this token.
                permit.success();
                metrics::counter!("push_pruned_total", "provider" => provider).increment(1);
            }
            Err(PushError::Retry { reason, .. }) => {
                permit.failure();
                metrics::counter!("push_failed_total", "provider" => provider, "kind" => "retry")
                    .increment(1);
                tracing::debug!(%reason, "push failed; worth a retry");
            }
            Err(err) => {
                permit.success();
                metrics::counter!("push_failed_total", "provider" => provider, "kind" => "permanent")
                    .increment(1);
                tracing::debug!(error = %err, "push refused");
            }
        }
        result
    }

    /// [`Push::send`] for a job handler: the outcome to act on, or the `JobError` to return.
    pub async fn deliver(
        &self,
        target: &DeviceToken,
        message: &PushMessage,
    ) -> Result<PushOutcome, JobError> {
        match self.send(target, message).await {
            Ok(()) => Ok(PushOutcome::Sent),
            Err(PushError::Gone) => Ok(PushOutcome::Gone),
            Err(PushError::NotConfigured(service)) => {
                self.log_skip(service);
                Ok(PushOutcome::Skipped)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// One `warn` per service and process, then `debug`: a missing provider is an operator's
    /// choice, not an error to repeat for every device.
    fn log_skip(&self, service: PushService) {
        let index = PushService::ALL
            .iter()
            .position(|s| *s == service)
            .unwrap_or_default();
        if self.skip_logged[index].swap(true, Ordering::Relaxed) {
            tracing::debug!(
                provider = service.name(),
                "push skipped: provider not configured"
            );
        } else {
            tracing::warn!(
                provider = service.name(),
                "push skipped: {service} is not configured, so notifications to its devices are \
                 dropped (see the README's push configuration)"
            );
        }
    }
}
