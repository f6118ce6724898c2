//! Administrator accounts: the `ADMIN_EMAIL`/`ADMIN_PASSWORD` bootstrap at start-up and the
//! `admin create` and `admin promote` commands.

use entity::UserId;
use secrecy::{ExposeSecret, SecretString};

use super::repo::{self, NewUser};
use super::{Email, Role, UserError};
use crate::audit;
use crate::auth::password::policy_violation;
use crate::auth::session_state;
use crate::platform::{clock, db};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} is not a valid email address")]
    InvalidEmail(String),
    #[error("the password {0}")]
    WeakPassword(&'static str),
    #[error("an account with the email {0} already exists")]
    Exists(String),
    #[error("there is no account with the email {0}")]
    NoSuchAccount(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AdminError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Other(err.into())
    }
}

fn parse_email(raw: &str) -> Result<Email, AdminError> {
    #[derive(garde::Validate)]
    struct Check<'a>(#[garde(length(max = 254), email)] &'a str);
    garde::Validate::validate(&Check(raw.trim()))
        .map_err(|_| AdminError::InvalidEmail(raw.to_owned()))?;
    Ok(Email::normalize(raw))
}

/// Creates an administrator (`admin create EMAIL`).
pub async fn create(
    app: &AppState,
    email: &str,
    password: SecretString,
) -> Result<UserId, AdminError> {
    let email = parse_email(email)?;
    if let Some(problem) = policy_violation(password.expose_secret(), email.as_str()) {
        return Err(AdminError::WeakPassword(problem));
    }
    let hash = app.passwords.hash(&password).await?;
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let user = super::service::create(
        &txn,
        NewUser {
            email: &email,
            name: None,
            password_hash: hash,
            role: Role::Admin,
            email_verified: true,
        },
        now,
    )
    .await
    .map_err(|err| match err {
        UserError::EmailTaken => AdminError::Exists(email.to_string()),
        other => AdminError::Other(other.into()),
    })?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    audit!("admin.created", user_id = %user.id);
    Ok(user.id)
}

/// What `admin promote` did.
#[derive(Debug)]
pub struct Promotion {
    pub user_id: UserId,
    /// The address as stored (normalised).
    pub email: String,
    /// True when the account was an administrator already (nothing changed).
    pub already_admin: bool,
}

/// Gives an existing account the admin role (`admin promote EMAIL`): the one way an account
/// that already exists becomes an administrator, and an operator's deliberate act.
pub async fn promote(app: &AppState, email: &str) -> Result<Promotion, AdminError> {
    let email = parse_email(email)?;
    let txn = db::begin_write(&app.db).await?;
    let user = repo::find_by_email(&txn, &email)
        .await?
        .ok_or_else(|| AdminError::NoSuchAccount(email.to_string()))?;
    let promotion = Promotion {
        user_id: user.id,
        email: user.email,
        already_admin: user.role == Role::Admin,
    };
    if promotion.already_admin {
        return Ok(promotion);
    }
    repo::set_role(&txn, user.id, Role::Admin, clock::now()).await?;
    // Live sessions carry the role in their cached liveness: without this they would stay
    // plain users for up to its TTL.
    let sessions = session_state::user_changed(&txn, user.id).await?;
    txn.commit().await?;
    session_state::forget(app, &sessions).await;
    audit!("admin.promoted", user_id = %user.id, source = "cli");
    Ok(promotion)
}

/// Ensures at start-up that the `ADMIN_EMAIL` account exists and is an administrator: it
/// creates the account, or confirms that it is one. It never promotes an existing account:
/// once the administrator has moved to another address or deleted the account, anyone may
/// register `ADMIN_EMAIL`, and the next restart would make them an administrator. Nor does it
/// refuse to start, which would let anyone block restarts by registering the address. The
/// password is set only when this creates the account, so changing it later through the API
/// sticks.
pub async fn bootstrap(app: &AppState) -> anyhow::Result<()> {
    let Some(admin) = &app.config.admin else {
        return Ok(());
    };
    let email = parse_email(&admin.email).map_err(|e| anyhow::anyhow!("ADMIN_EMAIL: {e}"))?;
    if let Some(user) = repo::find_by_email(&*app.db, &email).await? {
        warn_unless_admin(&user);
        return Ok(());
    }
    match create(
        app,
        &admin.email,
        SecretString::from(admin.password.expose_secret()),
    )
    .await
    {
        Ok(_) => Ok(()),
        // Registered by someone else between the look-up and the insert.
        Err(AdminError::Exists(_)) => {
            if let Some(user) = repo::find_by_email(&*app.db, &email).await? {
                warn_unless_admin(&user);
            }
            Ok(())
        }
        Err(AdminError::WeakPassword(problem)) => {
            anyhow::bail!("ADMIN_PASSWORD: the password {problem}")
        }
        Err(other) => Err(anyhow::anyhow!(other)),
    }
}

fn warn_unless_admin(user: &entity::user::Model) {
    if user.role != Role::Admin {
        tracing::warn!(
            user_id = %user.id,
            "ADMIN_EMAIL names an existing account that is not an administrator; start-up \
             leaves it a plain user (if it is yours, run `aios-server admin promote`)"
        );
    }
}
