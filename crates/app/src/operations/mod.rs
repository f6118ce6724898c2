//! Operations endpoints: health probes, Prometheus metrics, the OpenAPI document and `/docs`.

pub mod health;
pub mod metrics;
