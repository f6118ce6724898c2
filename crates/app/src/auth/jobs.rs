//! The auth feature's background jobs: the emails with single-use links. Tokens are created
//! here, at send time, so no raw token is ever stored (the outbox holds only ids).

use chrono::TimeDelta;
use entity::UserId;

use super::events::{PasswordResetRequested, UserRegistered, VerificationEmailRequested};
use super::repo::user_tokens::{self, TokenKind};
use crate::platform::jobs::error::JobError;
use crate::platform::jobs::event::{Delivery, EventHandler};
use crate::platform::mail::Email as Message;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users;

pub const RESET_TOKEN_TTL: TimeDelta = TimeDelta::minutes(30);
pub const VERIFICATION_TOKEN_TTL: TimeDelta = TimeDelta::hours(24);

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
        self.send(app, event.user_id).await
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
        self.send(app, event.user_id).await
    }
}

impl SendVerificationEmail {
    async fn send(&self, app: &AppState, user_id: UserId) -> Result<(), JobError> {
        let Some(user) = users::service::find(&*app.db, user_id).await? else {
            return Ok(()); // deleted since: nothing to verify
        };
        if user.email_verified {
            return Ok(());
        }
        let token = issue(
            app,
            user.id,
            TokenKind::EmailVerification,
            VERIFICATION_TOKEN_TTL,
        )
        .await?;
        let link = format!("{}/verify-email?token={token}", app.config.mail.app_url);
        app.mailer
            .send(&Message {
                from: app.config.mail.from.clone(),
                to: user.email,
                subject: "Confirm your email address".to_owned(),
                text: format!(
                    "Welcome!\n\nConfirm your email address by opening this link within 24 hours:\n\
                     {link}\n\nIf you did not create an account, ignore this message.\n"
                ),
            })
            .await?;
        Ok(())
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
        let token = issue(app, user.id, TokenKind::PasswordReset, RESET_TOKEN_TTL).await?;
        let link = format!("{}/reset-password?token={token}", app.config.mail.app_url);
        app.mailer
            .send(&Message {
                from: app.config.mail.from.clone(),
                to: user.email,
                subject: "Reset your password".to_owned(),
                text: format!(
                    "Someone asked to reset the password of your account.\n\nChoose a new \
                     password by opening this link within 30 minutes:\n{link}\n\nIf it was not \
                     you, ignore this message: your password stays as it is.\n"
                ),
            })
            .await?;
        Ok(())
    }
}

async fn issue(
    app: &AppState,
    user_id: UserId,
    kind: TokenKind,
    ttl: TimeDelta,
) -> anyhow::Result<String> {
    let token = secrets::random_token();
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    if kind == TokenKind::EmailVerification {
        // One live verification link at a time: a resend replaces the link, it does not add one.
        user_tokens::consume_all(&txn, user_id, kind, now).await?;
    }
    user_tokens::insert(
        &txn,
        user_id,
        kind,
        secrets::hash_token(&token),
        now,
        now + ttl,
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}
