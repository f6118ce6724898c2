//! Operations endpoints: health probes, Prometheus metrics, the OpenAPI document and `/docs`,
//! and the development mailbox.

pub mod dev_mail;
pub mod health;
pub mod metrics;
