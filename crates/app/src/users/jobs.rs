//! The Users feature's background jobs.

use serde::Deserialize;
use uuid::Uuid;

use crate::platform::jobs::outbox::OutboxEvent;
use crate::platform::jobs::runner::EventHandler;
use crate::platform::mail::Email as Message;
use crate::state::AppState;

/// The previous address is in the payload because the account no longer holds it; the row is
/// purged with the rest of the processed outbox.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailChanged {
    user_id: Uuid,
    previous_email: String,
}

/// `user:email_changed`: tells the previous address, so that a takeover through a stolen
/// session does not go unnoticed.
pub struct SendEmailChangedNotice;

#[async_trait::async_trait]
impl EventHandler for SendEmailChangedNotice {
    async fn handle(&self, app: &AppState, event: &OutboxEvent) -> anyhow::Result<()> {
        let payload: EmailChanged = serde_json::from_value(event.payload.clone())?;
        let Some(user) = super::service::find(&*app.db, payload.user_id).await? else {
            return Ok(()); // deleted since: there is no account left to warn about
        };
        app.mailer
            .send(&Message {
                from: app.config.mail.from.clone(),
                to: payload.previous_email,
                subject: "The email address of your account was changed".to_owned(),
                text: format!(
                    "The email address of your account was changed to {}.\n\nIf you made this \
                     change, there is nothing to do. If you did not, someone else has access to \
                     your account: contact support at once. Sessions on your other devices have \
                     been signed out.\n",
                    masked(&user.email)
                ),
            })
            .await?;
        Ok(())
    }
}

/// `ada@example.com` as `a***@example.com`: enough for the owner to recognise, little for a
/// stranger reading the old mailbox.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_masked_to_their_first_letter_and_domain() {
        assert_eq!(super::masked("ada@example.com"), "a***@example.com");
        assert_eq!(super::masked("x"), "***");
    }
}
