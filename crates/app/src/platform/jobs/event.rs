//! Events as types. Each event is a struct that names itself (`NAME`, the stable string stored
//! in the outbox), is written with `outbox::enqueue(&txn, &UserRegistered { user_id })` and is
//! read back into the same struct by the handler registered for it: the name, the payload and
//! the handler are tied together by the compiler. Payloads carry ids, not personal data: a
//! handler reads what it needs when it runs.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use entity::EventId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::JobError;
use super::spec::JobSpec;
use crate::state::AppState;

pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The event's name in the outbox and in logs, e.g. `user:registered`. Never renamed:
    /// stored events are read back by it.
    const NAME: &'static str;
}

/// About one delivery of an event.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub event_id: EventId,
    /// 1 for the first delivery.
    pub attempt: i32,
}

/// Handles one event type. Must be idempotent: delivery is at least once (the event id in
/// `Delivery` tells a retry from a new event).
#[async_trait::async_trait]
pub trait EventHandler<E: Event>: Send + Sync {
    async fn handle(&self, app: &AppState, event: E, delivery: Delivery) -> Result<(), JobError>;

    /// The limits and retry policy of this event's jobs.
    fn spec(&self) -> JobSpec {
        JobSpec::default()
    }
}

/// A handler with its event type erased, as the runner holds it.
#[async_trait::async_trait]
pub trait ErasedHandler: Send + Sync {
    async fn handle_json(
        &self,
        app: &AppState,
        payload: serde_json::Value,
        delivery: Delivery,
    ) -> Result<(), JobError>;

    fn spec(&self) -> JobSpec;
}

struct Typed<E, H> {
    handler: H,
    event: PhantomData<fn() -> E>,
}

#[async_trait::async_trait]
impl<E: Event, H: EventHandler<E>> ErasedHandler for Typed<E, H> {
    async fn handle_json(
        &self,
        app: &AppState,
        payload: serde_json::Value,
        delivery: Delivery,
    ) -> Result<(), JobError> {
        // A payload that does not parse never will: no retry can help it.
        let event: E = serde_json::from_value(payload).map_err(|err| {
            JobError::Permanent(format!("the payload of {} does not parse: {err}", E::NAME))
        })?;
        self.handler.handle(app, event, delivery).await
    }

    fn spec(&self) -> JobSpec {
        self.handler.spec()
    }
}

/// What becomes of an event type's events.
#[derive(Clone)]
pub enum Route {
    /// A job per event, run by this handler.
    Job(Arc<dyn ErasedHandler>),
    /// Nothing consumes it yet: marked delivered at once, so it never piles up pending.
    Acknowledge,
}

/// Which handler each event type goes to.
#[derive(Default, Clone)]
pub struct EventHandlers {
    by_name: HashMap<&'static str, Route>,
}

impl EventHandlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends every `E` to `handler`, as jobs of the queue named `E::NAME`.
    pub fn on<E: Event>(mut self, handler: impl EventHandler<E> + 'static) -> Self {
        let typed = Typed::<E, _> {
            handler,
            event: PhantomData,
        };
        self.by_name.insert(E::NAME, Route::Job(Arc::new(typed)));
        self
    }

    /// Marks `E` as delivered at once: for events raised for consumers that do not exist yet.
    pub fn acknowledge<E: Event>(mut self) -> Self {
        self.by_name.insert(E::NAME, Route::Acknowledge);
        self
    }

    pub fn route(&self, name: &str) -> Option<&Route> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.by_name.keys().copied().collect()
    }

    /// The event types that become jobs, with their handlers.
    pub fn queues(&self) -> Vec<(&'static str, Arc<dyn ErasedHandler>)> {
        self.by_name
            .iter()
            .filter_map(|(name, route)| match route {
                Route::Job(handler) => Some((*name, handler.clone())),
                Route::Acknowledge => None,
            })
            .collect()
    }
}
