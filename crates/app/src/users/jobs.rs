//! The Users feature's background jobs.

use super::events::UserEmailChanged;
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::mail::Email as Message;
use crate::state::AppState;

/// `user:email_changed`: tells the previous address, so that a takeover through a stolen
/// session does not go unnoticed.
pub struct SendEmailChangedNotice;

#[async_trait::async_trait]
impl EventHandler<UserEmailChanged> for SendEmailChangedNotice {
    async fn handle(
        &self,
        app: &AppState,
        event: UserEmailChanged,
        _: Delivery,
    ) -> Result<(), JobError> {
        // Gone with the account if it was deleted since: no one left to warn.
        let Some(change) = super::repo::find_email_change(&*app.db, event.change_id).await? else {
            return Ok(());
        };
        let Some(user) = super::service::find(&*app.db, change.user_id).await? else {
            return Ok(());
        };
        app.mailer
            .send(&Message {
                from: app.config.mail.from.clone(),
                to: change.previous_email,
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
