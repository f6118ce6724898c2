//! Issue 7, item 2: a stolen access token must not take the account over by changing its
//! email. The change needs the current password, ends every other session, kills links
//! already mailed and tells the old address.

use serde_json::json;

use crate::auth_support::{login_user, me, refresh, unique_email, wait_for_outbox};
use crate::helpers::{PASSWORD, TestApp, TestUser, token_in};
use crate::rate_limits::limit_headers;

async fn change_email(
    app: &TestApp,
    user: &TestUser,
    body: serde_json::Value,
) -> crate::helpers::TestResponse {
    app.put("/api/users/me")
        .bearer(&user.access)
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn a_stolen_access_token_cannot_change_the_email_without_the_password() {
    let app = TestApp::spawn().await;
    let victim = app.register().await;
    let attacker_address = unique_email("attacker");

    let without = change_email(&app, &victim, json!({ "email": attacker_address })).await;
    without.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(without.detail_paths(), ["currentPassword"]);
    let wrong = change_email(
        &app,
        &victim,
        json!({ "email": attacker_address, "currentPassword": "a good guess" }),
    )
    .await;
    wrong.assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(me(&app, &victim.access).await.json["email"], victim.email);
    // A name change alone needs no password.
    change_email(&app, &victim, json!({ "name": "Still Mine" }))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_email_change_ends_other_sessions_kills_mailed_links_and_tells_the_old_address() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let phone = login_user(&app, &owner).await;
    // A reset link is sitting in the old mailbox.
    app.post("/api/auth/reset-password")
        .json(&json!({ "email": owner.email }))
        .send()
        .await
        .assert_status(202);
    let reset_token = token_in(&app.wait_for_email(&owner.email, "Reset").await);

    let new_email = unique_email("moved");
    let changed = change_email(
        &app,
        &owner,
        json!({ "email": new_email, "currentPassword": PASSWORD }),
    )
    .await;
    changed.assert_status(200);
    assert_eq!(changed.json["email"], new_email);

    // The session that made the change stays; every other one is over, refresh included.
    me(&app, &owner.access).await.assert_status(200);
    me(&app, &phone.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &phone.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // The reset link mailed to the old address no longer works.
    app.post("/api/auth/reset-password/confirm")
        .json(&json!({ "token": reset_token, "password": "a brand new passphrase" }))
        .send()
        .await
        .assert_error(400, "INVALID_TOKEN");
    // The old address is told, the new one gets a verification link.
    let notice = app.wait_for_email(&owner.email, "was changed").await;
    assert!(notice.text.contains("***@example.com"), "{}", notice.text);
    assert!(
        !notice.text.contains(&new_email),
        "the notice masks the new address"
    );
    app.wait_for_email(&new_email, "Confirm").await;
    wait_for_outbox(&app).await;
}

#[tokio::test]
async fn wrong_current_passwords_are_limited_per_account_with_that_budget_s_headers() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "3")
        .spawn()
        .await;
    let user = app.register().await;
    let body = json!({ "email": unique_email("x"), "currentPassword": "guess" });
    for _ in 0..3 {
        change_email(&app, &user, body.clone())
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = change_email(&app, &user, body).await;
    limited.assert_error(429, "RATE_LIMITED");
    let (limit, remaining, _) = limit_headers(&limited);
    assert_eq!(
        (limit, remaining),
        (3, 0),
        "the headers of the budget that was hit"
    );
    assert!(limited.header("retry-after").is_some());
}
