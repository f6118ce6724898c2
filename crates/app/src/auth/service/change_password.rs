use entity::{SessionId, UserId};
use secrecy::SecretString;

use super::check_policy;
use crate::audit;
use crate::auth::dto::ChangePasswordRequest;
use crate::auth::error::AuthError;
use crate::auth::repo::sessions;
use crate::auth::repo::user_tokens::{self, TokenKind};
use crate::auth::session_state;
use crate::platform::password_hash::Verified;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email};

/// Changes the password and ends every other session (the caller's stays).
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn change_password(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    request: ChangePasswordRequest,
) -> Result<(), AuthError> {
    let account = users::service::find(&*app.db, user_id)
        .await?
        .ok_or(AuthError::InvalidCredentials)?;
    super::limit_password_checks(app, user_id).await?;
    let current = SecretString::from(request.current_password);
    let verified = app
        .passwords
        .verify(&current, Some(&account.password_hash))
        .await?;
    if verified == Verified::No {
        audit!("password.change_failed", user_id = %user_id);
        return Err(AuthError::InvalidCredentials);
    }
    check_policy(
        "newPassword",
        &request.new_password,
        &Email::normalize(&account.email),
    )?;
    let hash = app
        .passwords
        .hash(&SecretString::from(request.new_password))
        .await?;
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    users::service::set_password_hash(&txn, user_id, &hash, now).await?;
    // A reset link still in a mailbox would undo the change: it dies with the old password.
    user_tokens::consume_all(&txn, user_id, TokenKind::PasswordReset, now).await?;
    let revoked =
        sessions::revoke(&txn, user_id, sessions::Revoke::AllExcept(session_id), now).await?;
    txn.commit().await?;
    session_state::forget(app, &revoked).await;
    audit!("password.changed", user_id = %user_id, sessions_revoked = revoked.len());
    Ok(())
}
