//! `db seed`: a demo account with a few items, for trying the API by hand.

use secrecy::SecretString;
use serde_json::json;

use super::dto::ItemInput;
use super::service;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email, Role};

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password-2024";

/// Creates the demo user and items unless the user exists already. Returns a summary line.
pub async fn demo(app: &AppState) -> anyhow::Result<String> {
    let email = Email::normalize(DEMO_EMAIL);
    if users::service::find_by_email(&*app.db, &email)
        .await?
        .is_some()
    {
        return Ok(format!("{DEMO_EMAIL} exists already: nothing to seed"));
    }
    let hash = app
        .passwords
        .hash(&SecretString::from(DEMO_PASSWORD))
        .await?;
    let txn = db::begin_write(&app.db).await?;
    let user = users::service::create(
        &txn,
        users::repo::NewUser {
            email: &email,
            name: Some("Demo User".to_owned()),
            password_hash: hash,
            role: Role::User,
            email_verified: true,
        },
        clock::now(),
    )
    .await?;
    let samples = [
        (
            "Groceries",
            "Milk, eggs, bread",
            json!({ "tags": ["home"], "done": false }),
        ),
        (
            "Read the API docs",
            "Open /docs on the server",
            json!({ "priority": 1 }),
        ),
        (
            "Plan the trip",
            "Book trains and a hotel",
            json!({ "budget": 800, "currency": "EUR" }),
        ),
    ];
    for (name, description, data) in samples {
        let input = ItemInput {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            data: data.as_object().cloned(),
        };
        service::create_in(&txn, app, user.id, input).await?;
    }
    txn.commit().await?;
    Ok(format!(
        "seeded {DEMO_EMAIL} (password {DEMO_PASSWORD}) with 3 items"
    ))
}
