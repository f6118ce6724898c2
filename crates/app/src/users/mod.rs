//! Users: profiles, account deletion and export, and user administration.

pub mod admin;
pub mod dto;
pub mod email;
pub mod error;
pub mod events;
pub mod export;
pub mod jobs;
pub mod mail;
pub mod repo;
pub mod routes;
pub mod service;

pub use email::Email;
pub use error::UserError;

pub use entity::user::Role;
