//! The integration tests: one binary, the real application over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod helpers;

mod architecture;
mod attack_budgets;
mod attack_email_change;
mod attack_input;
mod attack_resend;
mod attack_storage;

mod auth_attacks;
mod auth_audit;
mod auth_flows;
mod auth_injection;
mod auth_lockout;
mod auth_password;
mod auth_refresh_grace;
mod auth_sessions;
mod auth_support;
mod auth_tokens;
mod config_docs;
mod connections;
mod devices_api;
mod devices_openapi;
mod devices_sessions;
mod devices_support;
mod error_tracking;
mod errors;
mod files_download;
mod files_lifecycle;
mod files_links;
mod files_processing;
mod files_upload;
mod health;
mod http_limits;
mod items_batch;
mod items_crud;
mod items_idempotency;
mod items_input;
mod items_pagination;
mod items_plans;
mod items_support;
mod items_sync;
mod jobs_engine;
mod jobs_outbox;
mod jobs_stale_results;
mod logging;
mod mail_dev;
mod mail_flows;
mod mail_outage;
mod mail_sendgrid;
mod mail_support;
mod mail_transport_sendgrid;
mod mail_transport_smtp;
mod metrics;
mod notifications_inbox;
mod notifications_push;
mod openapi;
mod openapi_contract;
mod operations;
mod outage;
mod props_items;
mod push_apns;
mod push_breaker;
mod push_fcm;
mod push_webpush;
mod rate_limits;
mod shutdown;
mod users;
mod users_admin;
