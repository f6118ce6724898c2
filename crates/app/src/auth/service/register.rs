use secrecy::SecretString;

use super::{ClientInfo, check_policy, open_session, token_response};
use crate::audit;
use crate::auth::dto::{RegisterRequest, TokenResponse};
use crate::auth::error::AuthError;
use crate::auth::events::{AddressDigest, UserRegistered};
use crate::platform::idempotency::{self, Claim};
use crate::platform::jobs::outbox;
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users::{self, Email, Role};

#[tracing::instrument(skip_all)]
pub async fn register(
    app: &AppState,
    request: RegisterRequest,
    client: ClientInfo,
    claim: Option<&Claim>,
) -> Result<TokenResponse, AuthError> {
    let email = Email::normalize(&request.email);
    check_policy("password", &request.password, &email)?;
    let password_hash = app
        .passwords
        .hash(&SecretString::from(request.password))
        .await?;
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    let user = users::service::create(
        &txn,
        users::repo::NewUser {
            email: &email,
            name: request.name.filter(|n| !n.is_empty()),
            password_hash,
            role: Role::User,
            email_verified: false,
        },
        now,
    )
    .await?;
    let (session_id, refresh) =
        open_session(&txn, app, user.id, request.device, client, now).await?;
    let registered = UserRegistered {
        user_id: user.id,
        address: Some(AddressDigest::of(&user.email)),
    };
    outbox::enqueue(&txn, &registered).await?;
    let user_id = user.id;
    let response = token_response(app, user, session_id, refresh)?;
    if let Some(claim) = claim {
        idempotency::complete(&txn, claim, 201, &response, &[]).await?;
    }
    txn.commit().await?;
    app.wake_outbox_relay();
    audit!("user.registered", user_id = %user_id, session_id = %session_id);
    Ok(response)
}
