//! Authentication: registration, login, tokens, sessions, password reset and email verification.

pub mod account;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod identify;
pub mod jobs;
pub mod mail;
pub mod password;
pub mod repo;
pub mod revocation;
pub mod routes;
pub mod service;
pub mod session_state;
pub mod successor;

pub use extract::{AdminUser, AuthUser};
