//! Issue 7, item 9: pointing an account at a stranger's address and calling resend must not
//! flood that address, and only the newest verification link stays valid.

use std::sync::Arc;

use aios_app::auth::events::UserRegistered;
use aios_app::auth::jobs::SendVerificationEmail;
use aios_app::platform::jobs::error::JobError;
use aios_app::platform::jobs::event::{Delivery, EventHandler};
use aios_app::platform::jobs::spec::JobSpec;
use aios_app::state::AppState;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth_support::{unique_email, wait_for_outbox};
use crate::helpers::{PASSWORD, TestApp, TestUser, token_in};

/// The per-IP tier of the auth endpoints shares `RATE_LIMIT_AUTH_PER_MIN` with the budgets
/// under test: calls from other addresses (through a trusted proxy) keep it out of the way.
fn from(n: u32) -> String {
    format!("198.51.100.{n}")
}

async fn register_from(app: &TestApp, n: u32) -> TestUser {
    let email = unique_email("user");
    let response = app
        .post("/api/auth/register")
        .header("x-forwarded-for", &from(n))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await;
    response.assert_status(201);
    TestUser::from_tokens(&response.json, &email, PASSWORD)
}

async fn verify_from(app: &TestApp, n: u32, token: &str) -> crate::helpers::TestResponse {
    app.post("/api/auth/verify-email")
        .header("x-forwarded-for", &from(n))
        .json(&json!({ "token": token }))
        .send()
        .await
}

#[tokio::test]
async fn resend_is_limited_and_each_link_replaces_the_previous_one() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "3")
        .env("TRUST_PROXY", "1")
        .spawn()
        .await;
    // The attacker's own account, on the victim's address (never verified).
    let victim_address = unique_email("victim");
    let registered = app
        .post("/api/auth/register")
        .header("x-forwarded-for", &from(1))
        .json(&json!({ "email": victim_address, "password": PASSWORD }))
        .send()
        .await;
    registered.assert_status(201);
    let attacker = TestUser::from_tokens(&registered.json, &victim_address, PASSWORD);
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let response = app
            .post("/api/auth/verify-email/resend")
            .bearer(&attacker.access)
            .send()
            .await;
        statuses.push(response.status.as_u16());
    }
    wait_for_outbox(&app).await;
    let mails = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.to == victim_address)
        .collect::<Vec<_>>();
    // The registration's own link plus a budget of 3 resends, not 51.
    assert_eq!(mails.len(), 4, "mails to the victim");
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        mails.len() - 1
    );
    assert!(
        statuses.iter().all(|s| [202, 429].contains(s)),
        "{statuses:?}"
    );

    // Only the newest link verifies; every earlier one was replaced. The mail jobs run
    // concurrently, so the order the mails arrive in need not be the order their links were
    // issued in: exactly one of the links works, whichever order they are tried in.
    let tokens: Vec<String> = mails.iter().map(token_in).collect();
    let mut verified = 0;
    for (n, token) in (10..).zip(&tokens) {
        let response = verify_from(&app, n, token).await;
        if response.status.as_u16() == 204 {
            verified += 1;
        } else {
            response.assert_error(400, "INVALID_TOKEN");
        }
    }
    assert_eq!(verified, 1, "links that verified, of {}", tokens.len());
}

#[tokio::test]
async fn accounts_taking_turns_on_one_address_share_that_address_s_budget() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "2")
        .env("TRUST_PROXY", "1")
        .spawn()
        .await;
    let victim_address = unique_email("victim");
    let mut outcomes = Vec::new();
    for n in 0..3 {
        let user = register_from(&app, n).await;
        let moved = app
            .put("/api/users/me")
            .bearer(&user.access)
            .json(&json!({ "email": victim_address, "currentPassword": PASSWORD }))
            .send()
            .await;
        outcomes.push(moved.status.as_u16());
        if moved.status.as_u16() == 200 {
            // And away again, so that the next account can take the address.
            app.put("/api/users/me")
                .bearer(&user.access)
                .json(&json!({ "email": unique_email("away"), "currentPassword": PASSWORD }))
                .send()
                .await
                .assert_status(200);
        } else {
            moved.assert_error(429, "RATE_LIMITED");
        }
    }
    assert_eq!(outcomes, [200, 200, 429]);
    wait_for_outbox(&app).await;
    let links = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.to == victim_address && m.subject.contains("Confirm"))
        .count();
    // Each link goes only to the address its event was raised for, and only while the account
    // still has it: the two moves that were let through account for at most two links.
    assert!(links <= 2, "{links} links mailed to one stranger");
}

/// The sign-up's verification job, held until the test lets it go: as if the queue were slow.
struct HeldSignupMail {
    gate: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl EventHandler<UserRegistered> for HeldSignupMail {
    async fn handle(
        &self,
        app: &AppState,
        event: UserRegistered,
        delivery: Delivery,
    ) -> Result<(), JobError> {
        let _released = self.gate.acquire().await.expect("the gate stays open");
        SendVerificationEmail.handle(app, event, delivery).await
    }

    fn spec(&self) -> JobSpec {
        EventHandler::<UserRegistered>::spec(&SendVerificationEmail)
    }
}

/// Before the fix the sign-up's job read the account's address when it ran: an account that
/// signed up and moved to a stranger's address before that job ran mailed the stranger twice for
/// one move (the sign-up's link and the change's), past that address's budget.
#[tokio::test]
async fn a_sign_up_link_is_not_mailed_to_an_address_the_account_moved_to_before_it_was_sent() {
    let gate = Arc::new(Semaphore::new(0));
    let held = HeldSignupMail { gate: gate.clone() };
    let app = TestApp::builder()
        .jobs(|mut jobs| {
            jobs.handlers = jobs.handlers.on::<UserRegistered>(held);
            jobs
        })
        .spawn()
        .await;
    let stranger = unique_email("stranger");
    let user = app.register().await;
    app.put("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "email": stranger, "currentPassword": PASSWORD }))
        .send()
        .await
        .assert_status(200);
    let changed = app.wait_for_email(&stranger, "Confirm").await;

    gate.add_permits(1);
    wait_for_outbox(&app).await;
    let links: Vec<_> = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.subject.contains("Confirm"))
        .collect();
    // The sign-up's link was for an address the account no longer has: it goes nowhere.
    assert_eq!(
        links.len(),
        1,
        "{:?}",
        links.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert_eq!(links[0].to, stranger);
    // And the one link sent is the one that works.
    let verified = app
        .post("/api/auth/verify-email")
        .json(&json!({ "token": token_in(&changed) }))
        .send()
        .await;
    verified.assert_status(204);
}
