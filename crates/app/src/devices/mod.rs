//! Push devices: `POST/GET /api/devices`, `DELETE /api/devices/{id}` and the VAPID key a web
//! client subscribes with (`GET /api/push/vapid-public-key`). A device belongs to the session
//! that registered it and goes when that session ends (`unbind_sessions`, called by auth in the
//! transaction that ends it). Notifications reach devices through `notifications::jobs`.

pub mod dto;
pub mod error;
pub mod repo;
pub mod routes;
pub mod service;
