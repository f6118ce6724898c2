//! The auth feature's background jobs: the emails with single-use links. Tokens are created
//! here, at send time, so no raw token is ever stored (the outbox holds only ids).

use std::time::Duration;

use anyhow::Context as _;
use chrono::TimeDelta;
use entity::UserId;

use super::events::{
    AddressDigest, PasswordResetRequested, UserRegistered, VerificationEmailRequested,
};
use super::mail;
use super::repo::user_tokens::{self, TokenKind};
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::jobs::spec::JobSpec;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users;

/// `user:registered` and `auth:email_verification_requested`: sends the verification link.
pub struct SendVerificationEmail;

#[async_trait::async_trait]
impl EventHandler<UserRegistered> for SendVerificationEmail {
    async fn handle(
        &self,
        app: &AppState,
        event: UserRegistered,
        _: Delivery,
    ) -> Result<(), JobError> {
        self.send(app, event.user_id, event.address.as_ref()).await
    }

    fn spec(&self) -> JobSpec {
        crate::platform::mail::job_spec()
    }
}

#[async_trait::async_trait]
impl EventHandler<VerificationEmailRequested> for SendVerificationEmail {
    async fn handle(
        &self,
        app: &AppState,
        event: VerificationEmailRequested,
        _: Delivery,
    ) -> Result<(), JobError> {
        self.send(app, event.user_id, event.address.as_ref()).await
    }

    fn spec(&self) -> JobSpec {
        crate::platform::mail::job_spec()
    }
}

impl SendVerificationEmail {
    /// Sends the link to the account's address if that is still the one the event was raised
    /// for (any, for events without a digest).
    async fn send(
        &self,
        app: &AppState,
        user_id: UserId,
        address: Option<&AddressDigest>,
    ) -> Result<(), JobError> {
        let Some(user) = users::service::find(&*app.db, user_id).await? else {
            return Ok(()); // deleted since: nothing to verify
        };
        if user.email_verified {
            return Ok(());
        }
        if address.is_some_and(|address| !address.is_of(&user.email)) {
            // Moved on since: the change that moved it queued the link for the new address.
            return Ok(());
        }
        // Before the token: while the provider is down, nothing is written.
        let admission = app.mail.admit()?;
        let lifetime = app.config.auth.email_verification_ttl;
        let token = issue(app, user.id, TokenKind::EmailVerification, lifetime).await?;
        let email =
            mail::verification(app.mail.templates(), user.name.as_deref(), &token, lifetime)
                .map_err(|e| JobError::Permanent(e.to_string()))?;
        admission.send(&user.email, email).await
    }
}

/// `auth:password_reset_requested`: sends the reset link if the account exists.
pub struct SendPasswordResetEmail;

#[async_trait::async_trait]
impl EventHandler<PasswordResetRequested> for SendPasswordResetEmail {
    async fn handle(
        &self,
        app: &AppState,
        event: PasswordResetRequested,
        _: Delivery,
    ) -> Result<(), JobError> {
        let Some(user_id) = event.user_id else {
            return Ok(()); // no account has the address: nothing to send
        };
        let Some(user) = users::service::find(&*app.db, user_id).await? else {
            return Ok(());
        };
        let admission = app.mail.admit()?;
        let lifetime = app.config.auth.password_reset_ttl;
        let token = issue(app, user.id, TokenKind::PasswordReset, lifetime).await?;
        let email =
            mail::password_reset(app.mail.templates(), user.name.as_deref(), &token, lifetime)
                .map_err(|e| JobError::Permanent(e.to_string()))?;
        admission.send(&user.email, email).await
    }

    fn spec(&self) -> JobSpec {
        crate::platform::mail::job_spec()
    }
}

async fn issue(
    app: &AppState,
    user_id: UserId,
    kind: TokenKind,
    lifetime: Duration,
) -> anyhow::Result<String> {
    let lifetime = TimeDelta::from_std(lifetime).context("token lifetime")?;
    let token = secrets::random_token();
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    if kind == TokenKind::EmailVerification {
        // One live verification link at a time: a resend replaces the link, it does not add one.
        user_tokens::lock_issuing(&txn, user_id).await?;
        user_tokens::consume_all(&txn, user_id, kind, now).await?;
    }
    user_tokens::insert(
        &txn,
        user_id,
        kind,
        secrets::hash_token(&token),
        now,
        now + lifetime,
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}
