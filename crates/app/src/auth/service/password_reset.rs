use secrecy::SecretString;

use super::{check_policy, throttle_key};
use crate::audit;
use crate::auth::error::AuthError;
use crate::auth::events::PasswordResetRequested;
use crate::auth::repo::user_tokens::{self, TokenKind};
use crate::auth::repo::{sessions, throttle};
use crate::auth::session_state;
use crate::platform::jobs::outbox;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email};

/// Queues the reset email. The same work and answer whether or not the account exists: the
/// background job looks the address up, so a request reveals nothing by its timing.
#[tracing::instrument(skip_all)]
pub async fn request(app: &AppState, email: &str) -> Result<(), AuthError> {
    let email = Email::normalize(email);
    super::limit_attempts_on(app, &email).await?;
    let txn = db::begin_write(&app.db).await?;
    // Looked up either way and stored either way: the same work whether or not it exists.
    let user_id = users::service::find_by_email(&txn, &email)
        .await?
        .map(|user| user.id);
    outbox::enqueue(&txn, &PasswordResetRequested { user_id }).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    audit!("password_reset.requested");
    Ok(())
}

/// Sets a new password with a reset token: single use, and it ends every session.
#[tracing::instrument(skip_all)]
pub async fn confirm(app: &AppState, token: &str, password: String) -> Result<(), AuthError> {
    let now = clock::now();
    let token_hash = secrets::hash_token(token);
    let found = user_tokens::find_valid(&*app.db, TokenKind::PasswordReset, &token_hash, now)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let user = users::service::find(&*app.db, found.user_id)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let email = Email::normalize(&user.email);
    check_policy("password", &password, &email)?;
    let hash = app.passwords.hash(&SecretString::from(password)).await?;

    let txn = db::begin_write(&app.db).await?;
    if !user_tokens::consume(&txn, found.id, now).await? {
        return Err(AuthError::InvalidToken);
    }
    user_tokens::consume_all(&txn, user.id, TokenKind::PasswordReset, now).await?;
    users::service::set_password_hash(&txn, user.id, &hash, now).await?;
    let revoked = sessions::revoke(&txn, user.id, sessions::Revoke::All, now).await?;
    // Whoever can read the mailbox may log in again at once, even during a lockout.
    throttle::clear(&txn, &throttle_key(&email)).await?;
    txn.commit().await?;
    session_state::forget(app, &revoked).await;
    audit!("password_reset.completed", user_id = %user.id, sessions_revoked = revoked.len());
    Ok(())
}
