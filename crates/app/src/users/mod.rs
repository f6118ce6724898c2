//! Users: profiles, account deletion and export, and user administration.

pub mod admin;
pub mod dto;
pub mod email;
pub mod error;
pub mod export;
pub mod jobs;
pub mod repo;
pub mod routes;
pub mod service;

pub use email::Email;
pub use error::UserError;

/// A user's role. Stored as text; unknown values read as `User`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Self {
        if value == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}
