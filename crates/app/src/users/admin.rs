//! Administrator accounts: the `ADMIN_EMAIL`/`ADMIN_PASSWORD` bootstrap at start-up and the
//! `admin create` command.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::repo::{self, NewUser};
use super::{Email, Role, UserError};
use crate::app::AppState;
use crate::audit;
use crate::auth::password::policy_violation;
use crate::platform::{clock, db};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} is not a valid email address")]
    InvalidEmail(String),
    #[error("the password {0}")]
    WeakPassword(&'static str),
    #[error("an account with the email {0} already exists")]
    Exists(String),
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
) -> Result<Uuid, AdminError> {
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

/// Ensures the `ADMIN_EMAIL` account exists with role admin. Its password is set only when
/// this creates the account, so changing it later through the API sticks.
pub async fn bootstrap(app: &AppState) -> anyhow::Result<()> {
    let Some(admin) = &app.config.admin else {
        return Ok(());
    };
    let email = parse_email(&admin.email).map_err(|e| anyhow::anyhow!("ADMIN_EMAIL: {e}"))?;
    match repo::find_by_email(&*app.db, &email).await? {
        Some(user) if Role::parse(&user.role) == Role::Admin => Ok(()),
        Some(user) => {
            repo::set_role(&*app.db, user.id, Role::Admin, clock::now()).await?;
            audit!("admin.promoted", user_id = %user.id, source = "ADMIN_EMAIL");
            Ok(())
        }
        None => match create(
            app,
            &admin.email,
            SecretString::from(admin.password.expose_secret()),
        )
        .await
        {
            Ok(_) | Err(AdminError::Exists(_)) => Ok(()),
            Err(AdminError::WeakPassword(problem)) => {
                anyhow::bail!("ADMIN_PASSWORD: the password {problem}")
            }
            Err(other) => Err(anyhow::anyhow!(other)),
        },
    }
}
