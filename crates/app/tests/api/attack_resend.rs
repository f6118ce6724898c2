//! Issue 7, item 9: pointing an account at a stranger's address and calling resend must not
//! flood that address, and only the newest verification link stays valid.

use serde_json::json;

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
    // A job reads the account's address when it runs: an account that moved away again before
    // its job ran has its link mailed to the new address, so at most two reach the stranger.
    assert!(links <= 2, "{links} links mailed to one stranger");
}
