//! The Users feature's background jobs.

use super::events::UserEmailChanged;
use super::mail;
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::jobs::spec::JobSpec;
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
        let admission = app.mail.admit()?;
        let email = mail::email_changed(app.mail.templates(), user.name.as_deref(), &user.email)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        admission.send(&change.previous_email, email).await
    }

    fn spec(&self) -> JobSpec {
        crate::platform::mail::job_spec()
    }
}
