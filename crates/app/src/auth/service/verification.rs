use entity::UserId;

use crate::audit;
use crate::auth::error::AuthError;
use crate::auth::events::VerificationEmailRequested;
use crate::auth::repo::user_tokens::{self, TokenKind};
use crate::platform::jobs::outbox;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email};

#[tracing::instrument(skip_all)]
pub async fn verify(app: &AppState, token: &str) -> Result<(), AuthError> {
    let now = clock::now();
    let found = user_tokens::find_valid(
        &*app.db,
        TokenKind::EmailVerification,
        &secrets::hash_token(token),
        now,
    )
    .await?
    .ok_or(AuthError::InvalidToken)?;
    let txn = db::begin_write(&app.db).await?;
    if !user_tokens::consume(&txn, found.id, now).await? {
        return Err(AuthError::InvalidToken);
    }
    users::service::mark_email_verified(&txn, found.user_id, now).await?;
    txn.commit().await?;
    audit!("email.verified", user_id = %found.user_id);
    Ok(())
}

/// Queues another verification email, unless the address is verified already.
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn resend(app: &AppState, user_id: UserId) -> Result<(), AuthError> {
    let Some(account) = users::service::find(&*app.db, user_id).await? else {
        return Ok(());
    };
    if account.email_verified {
        return Ok(());
    }
    super::limit_verification_mail(app, user_id, &Email::normalize(&account.email)).await?;
    let txn = db::begin_write(&app.db).await?;
    let requested = VerificationEmailRequested::for_address(user_id, &account.email);
    outbox::enqueue(&txn, &requested).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    Ok(())
}
