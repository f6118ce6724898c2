//! What a job carries: the outbox event it was made from. The job's payload is read as plain
//! JSON and only then into this shape, so a job that does not parse fails on its own (dead, with
//! the reason) instead of stopping the worker that fetched it.

use entity::EventId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The outbox event: handlers are idempotent by it.
    pub event_id: EventId,
    pub event: String,
    pub payload: serde_json::Value,
}

pub fn encode(
    event_id: uuid::Uuid,
    event: &str,
    payload: serde_json::Value,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Envelope {
        event_id: EventId(event_id),
        event: event.to_owned(),
        payload,
    })
}
