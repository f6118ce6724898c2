//! Rate limits: headers on every API response, 429 with Retry-After, tiers, shared budgets.

use serde_json::json;

use crate::helpers::{TestApp, require_services, services};

pub fn limit_headers(response: &crate::helpers::TestResponse) -> (u64, u64, u64) {
    let number = |name: &str| {
        response
            .header(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} missing: {:?}", response.headers))
    };
    (
        number("ratelimit-limit"),
        number("ratelimit-remaining"),
        number("ratelimit-reset"),
    )
}

#[tokio::test]
async fn anonymous_requests_are_limited_per_address_with_headers() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_ANON_PER_MIN", "3")
        .spawn()
        .await;
    for expected_remaining in [2, 1, 0] {
        let response = app.get("/api/users/me").send().await;
        response.assert_error(401, "UNAUTHORIZED");
        let (limit, remaining, reset) = limit_headers(&response);
        assert_eq!((limit, remaining), (3, expected_remaining));
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let limited = app.get("/api/users/me").send().await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after));
    // Probes are not part of the API budget.
    app.get("/health").send().await.assert_status(200);
    assert!(
        app.get("/health")
            .send()
            .await
            .header("ratelimit-limit")
            .is_none()
    );
}

#[tokio::test]
async fn authenticated_users_have_their_own_budget() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_ANON_PER_MIN", "100")
        .env("RATE_LIMIT_USER_PER_MIN", "4")
        .spawn()
        .await;
    let alice = app.register().await;
    let bob = app.register().await;
    for _ in 0..4 {
        app.get("/api/users/me")
            .bearer(&alice.access)
            .send()
            .await
            .assert_status(200);
    }
    let limited = app.get("/api/users/me").bearer(&alice.access).send().await;
    limited.assert_error(429, "RATE_LIMITED");
    let other = app.get("/api/users/me").bearer(&bob.access).send().await;
    other.assert_status(200);
    assert_eq!(
        limit_headers(&other).0,
        4,
        "the user tier applies to authenticated calls"
    );
}

#[tokio::test]
async fn auth_endpoints_are_stricter_per_address_and_per_account() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "3")
        .spawn()
        .await;
    for _ in 0..3 {
        app.login("nobody@example.com", "wrong password")
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .login("someone-else@example.com", "wrong password")
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // Other API calls from the address are still served.
    app.get("/api/users/me")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");

    // Per account: requests for one address from many addresses (a trusted proxy tells
    // them apart) are still counted together.
    let proxied = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "3")
        .env("TRUST_PROXY", "1")
        .spawn()
        .await;
    for n in 0..3 {
        proxied
            .post("/api/auth/reset-password")
            .header("x-forwarded-for", &format!("198.51.100.{n}"))
            .json(&json!({ "email": "victim@example.com" }))
            .send()
            .await
            .assert_status(202);
    }
    let spread = proxied
        .post("/api/auth/reset-password")
        .header("x-forwarded-for", "198.51.100.99")
        .json(&json!({ "email": "victim@example.com" }))
        .send()
        .await;
    spread.assert_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn with_redis_every_instance_shares_the_budget() {
    let Some(redis) = services().redis_url.clone() else {
        require_services("Redis (TEST_REDIS_URL)", false);
        return;
    };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let instance = || {
        TestApp::builder()
            .embedded()
            .env("REDIS_URL", &redis)
            .env("REDIS_PREFIX", &prefix)
            .env("RATE_LIMIT_ANON_PER_MIN", "4")
            .spawn()
    };
    let first = instance().await;
    let second = instance().await;
    for app in [&first, &second, &first, &second] {
        app.get("/api/users/me")
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    second
        .get("/api/users/me")
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    first
        .get("/api/users/me")
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn password_guesses_with_a_stolen_token_are_limited_per_account() {
    let app = TestApp::builder()
        .env("RATE_LIMIT_AUTH_PER_MIN", "3")
        .spawn()
        .await;
    let user = app.register().await;
    for _ in 0..2 {
        app.post("/api/auth/change-password")
            .bearer(&user.access)
            .json(&json!({ "currentPassword": "guess", "newPassword": "another long passphrase" }))
            .send()
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    app.delete("/api/users/me")
        .bearer(&user.access)
        .json(&json!({ "password": "guess" }))
        .send()
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let limited = app
        .post("/api/auth/change-password")
        .bearer(&user.access)
        .json(
            &json!({ "currentPassword": user.password, "newPassword": "another long passphrase" }),
        )
        .send()
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    app.get("/api/users/me")
        .bearer(&user.access)
        .send()
        .await
        .assert_status(200);
}
