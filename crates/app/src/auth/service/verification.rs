use serde_json::json;

use crate::audit;
use crate::auth::error::AuthError;
use crate::auth::extract::AuthUser;
use crate::auth::repo::user_tokens::{self, TokenKind};
use crate::platform::jobs::outbox;
use crate::platform::secrets;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email};

pub const EMAIL_VERIFICATION_REQUESTED: &str = "auth:email_verification_requested";

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
#[tracing::instrument(skip_all, fields(user.id = %user.user_id))]
pub async fn resend(app: &AppState, user: AuthUser) -> Result<(), AuthError> {
    let Some(account) = users::service::find(&*app.db, user.user_id).await? else {
        return Ok(());
    };
    if account.email_verified {
        return Ok(());
    }
    super::limit_verification_mail(app, user.user_id, &Email::normalize(&account.email)).await?;
    let txn = db::begin_write(&app.db).await?;
    enqueue(&txn, user.user_id).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    Ok(())
}

/// Queues a verification email; used by resend and by email changes.
pub async fn enqueue(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: uuid::Uuid,
) -> Result<(), sea_orm::DbErr> {
    outbox::enqueue(
        conn,
        EMAIL_VERIFICATION_REQUESTED,
        &json!({ "userId": user_id }),
    )
    .await
}
