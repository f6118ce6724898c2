//! The rules of the Users feature. Other features use the functions at the top to read and
//! write accounts; the rest serves the Users API.

use chrono::{DateTime, Utc};
use entity::user;
use entity::{SessionId, UserId};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, IntoActiveModel};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::dto::{ListUsersQuery, UpdateMeRequest, UserDto};
use super::events::UserEmailChanged;
use super::export::Export;
use super::repo::{self, NewUser};
use super::{Email, UserError};
use crate::audit;
use crate::auth::account::{self, Revoked};
use crate::auth::error::AuthError;
use crate::auth::events::VerificationEmailRequested;
use crate::platform::jobs::outbox;
use crate::platform::pagination::{Page, PageRequest, PageStart};
use crate::platform::password_hash::Verified;
use crate::platform::{clock, db};
use crate::state::AppState;

pub async fn find(conn: &impl ConnectionTrait, id: UserId) -> Result<Option<user::Model>, DbErr> {
    repo::find_by_id(conn, id).await
}

pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, DbErr> {
    repo::find_by_email(conn, email).await
}

/// The only unique column of `users` besides the id is the email: a violation means it is
/// taken, also when a concurrent request took it after our check.
fn email_taken_or_db(err: DbErr) -> UserError {
    if db::is_unique_violation(&err) {
        UserError::EmailTaken
    } else {
        UserError::Db(err)
    }
}

/// Creates an account; a taken email (also one taken by a concurrent request) is `EmailTaken`.
pub async fn create(
    conn: &impl ConnectionTrait,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<user::Model, UserError> {
    if repo::find_by_email(conn, new.email).await?.is_some() {
        return Err(UserError::EmailTaken);
    }
    repo::insert(conn, new, now)
        .await
        .map_err(email_taken_or_db)
}

pub async fn set_password_hash(
    conn: &impl ConnectionTrait,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    repo::set_password_hash(conn, id, hash, now).await
}

pub async fn mark_email_verified(
    conn: &impl ConnectionTrait,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    repo::mark_email_verified(conn, id, now).await
}

pub async fn get(app: &AppState, id: UserId) -> Result<UserDto, UserError> {
    find(&*app.db, id)
        .await?
        .map(UserDto::from)
        .ok_or(UserError::NotFound)
}

fn rate_limited_or_internal(err: AuthError) -> UserError {
    match err {
        AuthError::RateLimited(budget) => UserError::RateLimited(budget),
        other => UserError::Internal(other.into()),
    }
}

/// Checks the account's password for a sensitive change, within the account's budget of
/// password checks.
async fn confirm_password(
    app: &AppState,
    account: &user::Model,
    password: Option<String>,
) -> Result<(), UserError> {
    let password = password.ok_or(UserError::PasswordRequired)?;
    crate::auth::service::limit_password_checks(app, account.id)
        .await
        .map_err(rate_limited_or_internal)?;
    let verified = app
        .passwords
        .verify(&SecretString::from(password), Some(&account.password_hash))
        .await?;
    if verified == Verified::No {
        audit!("user.password_check_failed", user_id = %account.id);
        return Err(UserError::InvalidCredentials);
    }
    Ok(())
}

/// Updates name and/or email of `user_id`, from its session `session_id`. A new email needs
/// the current password, must be free, is no longer verified and gets a verification email;
/// the old address is told; every other session ends and links sent to the old address stop
/// working, so a stolen access token cannot turn into the account.
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn update_me(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    request: UpdateMeRequest,
) -> Result<UserDto, UserError> {
    let account = find(&*app.db, user_id).await?.ok_or(UserError::NotFound)?;
    let new_email = request
        .email
        .as_deref()
        .map(Email::normalize)
        .filter(|email| email.as_str() != account.email);
    if let Some(email) = &new_email {
        confirm_password(app, &account, request.current_password).await?;
        // The change mails a link to the new address: the same per-address budget as resends,
        // so flipping an account between addresses cannot flood one of them.
        crate::auth::service::limit_verification_mail(app, account.id, email)
            .await
            .map_err(rate_limited_or_internal)?;
    }
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let current = find(&txn, user_id).await?.ok_or(UserError::NotFound)?;
    let mut changes = current.clone().into_active_model();
    let mut changed = false;
    if let Some(name) = request.name {
        changes.name = Set(name.map(|n| n.trim().to_owned()));
        changed = true;
    }
    let new_email = new_email.filter(|email| email.as_str() != current.email);
    if let Some(email) = &new_email {
        if repo::find_by_email(&txn, email).await?.is_some() {
            return Err(UserError::EmailTaken);
        }
        changes.email = Set(email.as_str().to_owned());
        changes.email_verified = Set(false);
        changed = true;
    }
    if !changed {
        return Ok(UserDto::from(current));
    }
    changes.updated_at = Set(now);
    let updated = repo::update(&txn, changes)
        .await
        .map_err(email_taken_or_db)?;
    let mut revoked = Revoked::default();
    if new_email.is_some() {
        account::void_emailed_links(&txn, user_id, now).await?;
        revoked = account::end_other_sessions(&txn, user_id, session_id, now).await?;
        let requested = VerificationEmailRequested::for_address(user_id, &updated.email);
        outbox::enqueue(&txn, &requested).await?;
        let change_id = repo::record_email_change(&txn, user_id, &current.email, now).await?;
        outbox::enqueue(&txn, &UserEmailChanged { change_id }).await?;
    }
    txn.commit().await?;
    if new_email.is_some() {
        let sessions_revoked = revoked.len();
        revoked.forget(app).await;
        app.wake_outbox_relay();
        audit!("user.email_changed", user_id = %user_id, sessions_revoked);
    }
    Ok(UserDto::from(updated))
}

/// Deletes the account and everything it owns, in one transaction, after checking the password.
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn delete_me(app: &AppState, user_id: UserId, password: String) -> Result<(), UserError> {
    let account = find(&*app.db, user_id).await?.ok_or(UserError::NotFound)?;
    crate::auth::service::limit_password_checks(app, user_id)
        .await
        .map_err(rate_limited_or_internal)?;
    let verified = app
        .passwords
        .verify(&SecretString::from(password), Some(&account.password_hash))
        .await?;
    if verified == Verified::No {
        audit!("user.delete_failed", user_id = %user_id);
        return Err(UserError::InvalidCredentials);
    }
    let txn = db::begin_write(&app.db).await?;
    let revoked = account::end_sessions_of_deleted_account(&txn, user_id).await?;
    crate::items::service::delete_all_of_owner(&txn, user_id).await?;
    // Queues the removal of the stored bytes with the rows' deletion.
    crate::files::service::delete_all_of_owner(&txn, user_id).await?;
    crate::platform::idempotency::delete_scope(&txn, &user_id.to_string()).await?;
    // Sessions, refresh tokens, email tokens, email changes and sync state go with the row
    // (ON DELETE CASCADE).
    repo::delete(&txn, user_id).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    revoked.forget(app).await;
    audit!("user.deleted", user_id = %user_id);
    Ok(())
}

/// `base` is where clients reach this server: the export's file links start with it.
pub async fn export(
    app: &AppState,
    user_id: UserId,
    session_id: SessionId,
    base: &str,
) -> Result<Export, UserError> {
    super::export::collect(app, user_id, session_id, base).await
}

/// Email-change records are kept 90 days: long enough to trace a takeover reported late.
pub async fn purge_email_changes(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    repo::purge_email_changes(conn, now - chrono::TimeDelta::days(90)).await
}

#[derive(Serialize, Deserialize)]
struct UserCursor(DateTime<Utc>, UserId);

/// Administrators' list of users, newest first, optionally filtered by `q`.
pub async fn list(app: &AppState, query: ListUsersQuery) -> Result<Page<UserDto>, UserError> {
    let page = PageRequest::new(query.limit, query.offset, query.cursor.as_deref(), |c| {
        app.cursors.decode::<UserCursor>(c)
    })?;
    let q = query.q.as_deref().map(str::trim);
    let (after, offset) = match &page.start {
        PageStart::Offset(offset) => (None, *offset),
        PageStart::After(UserCursor(at, id)) => (Some((*at, *id)), 0),
    };
    let rows = repo::list(&*app.db, q, after, offset, page.limit + 1).await?;
    let total = match page.start {
        PageStart::Offset(_) => Some(repo::count(&*app.db, q).await?),
        PageStart::After(_) => None,
    };
    Ok(page.finish(
        rows,
        total,
        |u| app.cursors.encode(&UserCursor(u.created_at, u.id)),
        UserDto::from,
    ))
}
