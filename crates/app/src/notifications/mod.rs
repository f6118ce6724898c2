//! The in-app inbox and push delivery: `GET /api/notifications` (a page, newest first, with the
//! unread count), marking read, and the administrators' `POST /api/notifications`, which stores
//! the notification and raises `notification:send` in one transaction. The jobs fan it out to
//! one `push:device` job per device (`jobs.rs`).

pub mod dto;
pub mod error;
pub mod events;
pub mod jobs;
pub mod repo;
pub mod routes;
pub mod service;
