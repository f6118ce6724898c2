//! User administration: get by id, the list with search and pagination, the `ADMIN_EMAIL`
//! bootstrap and the service behind `admin create`.

use std::sync::Arc;

use aios_app::users::admin::{self, AdminError};
use aios_app::{AppState, Config, Overrides};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth_support::{me, unique_email, user_row};
use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp, TestUser, captured_logs};

async fn list(app: &TestApp, admin: &TestUser, query: &str) -> crate::helpers::TestResponse {
    app.get(&format!("/api/users{query}"))
        .bearer(&admin.access)
        .send()
        .await
}

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_gets_any_user_by_id() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register().await;
    let response = app
        .get(&format!("/api/users/{}", user.id))
        .bearer(&admin.access)
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.json, me(&app, &user.access).await.json);
    app.get(&format!("/api/users/{}", Uuid::now_v7()))
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/api/users/not-a-uuid")
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let logs = captured_logs();
    assert!(logs.lines().any(|l| l.contains("\"target\":\"audit\"")
        && l.contains("admin.get_user")
        && l.contains(&admin.id.to_string())));
}

#[tokio::test]
async fn the_admin_list_searches_and_pages_by_offset_and_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tag = Uuid::new_v4().simple().to_string();
    let mut created = Vec::new();
    for i in 0..5 {
        let email = format!("list-{tag}-{i}@example.com");
        created.push(app.register_as(&email, PASSWORD).await);
    }
    let named = app
        .post("/api/auth/register")
        .json(&json!({ "email": unique_email("named"), "password": PASSWORD, "name": format!("Zed {tag}") }))
        .send()
        .await;
    named.assert_status(201);

    let all = list(&app, &admin, "").await;
    all.assert_status(200);
    assert_eq!(all.json["total"], 7);
    assert_eq!(all.json["limit"], 20);
    assert_eq!(all.json["offset"], 0);
    assert_eq!(all.json["nextCursor"], Value::Null);

    // `q` matches email or name, case-insensitively; newest first.
    let by_email = list(&app, &admin, &format!("?q=LIST-{tag}")).await;
    by_email.assert_status(200);
    assert_eq!(by_email.json["total"], 5);
    let newest_first: Vec<String> = created.iter().rev().map(|u| u.email.clone()).collect();
    assert_eq!(emails(&by_email.json), newest_first);
    let by_name = list(&app, &admin, &format!("?q=zed%20{tag}")).await;
    assert_eq!(by_name.json["total"], 1);
    assert_eq!(by_name.json["items"][0]["name"], format!("Zed {tag}"));
    let none = list(&app, &admin, "?q=%25").await;
    assert_eq!(none.json["total"], 0, "% is matched literally");

    // Offset pages.
    let page = list(&app, &admin, &format!("?q=list-{tag}&limit=2&offset=2")).await;
    page.assert_status(200);
    assert_eq!(page.json["total"], 5);
    assert_eq!(page.json["offset"], 2);
    assert_eq!(emails(&page.json), newest_first[2..4]);

    // Cursor pages walk the same order to the end.
    let mut seen = Vec::new();
    let mut query = format!("?q=list-{tag}&limit=2");
    loop {
        let page = list(&app, &admin, &query).await;
        page.assert_status(200);
        assert!(page.json.get("total").is_none() || seen.is_empty());
        seen.extend(emails(&page.json));
        match page.json["nextCursor"].as_str() {
            Some(cursor) => query = format!("?q=list-{tag}&limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= 5, "pagination does not end");
    }
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn the_admin_list_refuses_out_of_range_paging() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (query, path) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=abc", "limit"),
        ("?offset=-1", "offset"),
        ("?cursor=garbage", "cursor"),
        ("?offset=0&cursor=garbage", "cursor"),
    ] {
        let response = list(&app, &admin, query).await;
        response.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(
            response.detail_paths(),
            [path],
            "{query}: {}",
            response.text
        );
    }
    list(&app, &admin, "?role=admin")
        .await
        .assert_error(400, "VALIDATION_FAILED");
    list(&app, &admin, &format!("?q={}", "q".repeat(201)))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    for query in ["?limit=1", "?limit=100", "?offset=1000"] {
        list(&app, &admin, query).await.assert_status(200);
    }
}

#[tokio::test]
async fn the_bootstrap_admin_can_log_in_as_admin() {
    let email = unique_email("boot");
    let app = TestApp::builder()
        .env("ADMIN_EMAIL", &email)
        .env("ADMIN_PASSWORD", "bootstrap admin passphrase")
        .spawn()
        .await;
    let login = app.login(&email, "bootstrap admin passphrase").await;
    login.assert_status(200);
    assert_eq!(login.json["user"]["role"], "admin");
    assert_eq!(login.json["user"]["emailVerified"], true);
    let admin = TestUser::from_tokens(&login.json, &email, "bootstrap admin passphrase");
    list(&app, &admin, "").await.assert_status(200);
}

/// Runs the start-up bootstrap again over the same database, with these admin settings.
async fn bootstrap_with(app: &TestApp, email: &str, password: &str) -> anyhow::Result<()> {
    let config = Config::from_vars(
        [
            ("APP_ENV", "test"),
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("ADMIN_EMAIL", email),
            ("ADMIN_PASSWORD", password),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )?;
    let state =
        AppState::from_parts(Arc::new(config), app.state.db.clone(), Overrides::default()).await?;
    admin::bootstrap(&state).await
}

#[tokio::test]
async fn a_self_registered_admin_email_account_stays_a_plain_user_after_a_restart() {
    // The administrator moved to another address (or deleted the account); anyone may now
    // register ADMIN_EMAIL, unverified.
    let app = TestApp::spawn().await;
    let email = unique_email("squatter");
    let squatter = app.register_as(&email, PASSWORD).await;
    let hash_before = user_row(&app, squatter.id).await.unwrap().password_hash;
    // The next start-up still starts, and promotes nobody.
    bootstrap_with(
        &app,
        &email.to_uppercase(),
        "the operator's admin passphrase",
    )
    .await
    .unwrap();
    let row = user_row(&app, squatter.id).await.unwrap();
    assert_eq!(row.role, entity::user::Role::User);
    assert_eq!(
        row.password_hash, hash_before,
        "the password is not overwritten"
    );
    let login = app.login(&email, PASSWORD).await;
    login.assert_status(200);
    assert_eq!(login.json["user"]["role"], "user");
    let relogged = TestUser::from_tokens(&login.json, &email, PASSWORD);
    for token in [&squatter.access, &relogged.access] {
        app.get("/api/users")
            .bearer(token)
            .send()
            .await
            .assert_error(403, "FORBIDDEN");
    }
    let logs = captured_logs();
    assert!(
        logs.lines().any(|l| l.contains("\"level\":\"WARN\"")
            && l.contains("ADMIN_EMAIL")
            && l.contains(&squatter.id.to_string())),
        "start-up warns that ADMIN_EMAIL belongs to a plain account"
    );
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("admin.promoted") && l.contains(&squatter.id.to_string()))
    );
}

#[tokio::test]
async fn the_bootstrap_confirms_an_existing_admin_without_touching_the_password() {
    let app = TestApp::spawn().await;
    let email = unique_email("root");
    let id = admin::create(&app.state, &email, PASSWORD.to_owned().into())
        .await
        .unwrap();
    let hash_before = user_row(&app, id).await.unwrap().password_hash;
    bootstrap_with(&app, &email, "an entirely different passphrase")
        .await
        .unwrap();
    let row = user_row(&app, id).await.unwrap();
    assert_eq!(
        (row.role.as_str(), row.password_hash),
        ("admin", hash_before)
    );
    app.login(&email, "an entirely different passphrase")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let login = app.login(&email, PASSWORD).await;
    login.assert_status(200);
    assert_eq!(login.json["user"]["role"], "admin");
}

#[tokio::test]
async fn the_bootstrap_refuses_a_weak_password_or_a_bad_email() {
    let app = TestApp::spawn().await;
    let weak = bootstrap_with(&app, &unique_email("weak"), "password").await;
    assert!(weak.is_err_and(|e| e.to_string().contains("ADMIN_PASSWORD")));
    let bad = bootstrap_with(&app, "not-an-email", PASSWORD).await;
    assert!(bad.is_err_and(|e| e.to_string().contains("ADMIN_EMAIL")));
}

#[tokio::test]
async fn admin_create_makes_a_verified_admin_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let email = unique_email("cli");
    let id = admin::create(&app.state, &email, PASSWORD.to_owned().into())
        .await
        .unwrap();
    let row = user_row(&app, id).await.unwrap();
    assert_eq!((row.role.as_str(), row.email_verified), ("admin", true));
    let again = admin::create(
        &app.state,
        &email.to_uppercase(),
        PASSWORD.to_owned().into(),
    )
    .await;
    assert!(matches!(again, Err(AdminError::Exists(_))), "{again:?}");
    let weak = admin::create(&app.state, &unique_email("w"), "12345678".to_owned().into()).await;
    assert!(matches!(weak, Err(AdminError::WeakPassword(_))), "{weak:?}");
    let bad = admin::create(&app.state, "nope", PASSWORD.to_owned().into()).await;
    assert!(matches!(bad, Err(AdminError::InvalidEmail(_))), "{bad:?}");
    let logs = captured_logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("admin.created") && l.contains(&id.to_string()))
    );
}

#[tokio::test]
async fn a_promotion_takes_effect_at_once_for_live_sessions() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    // The session's liveness, and its role with it, is cached now.
    list(&app, &user, "").await.assert_error(403, "FORBIDDEN");
    let done = admin::promote(&app.state, &user.email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(
        (done.user_id.into_uuid(), done.already_admin),
        (user.id, false)
    );
    list(&app, &user, "").await.assert_status(200);
    assert_eq!(me(&app, &user.access).await.json["role"], "admin");
    let again = admin::promote(&app.state, &user.email).await.unwrap();
    assert!(again.already_admin);
    let unknown = admin::promote(&app.state, &unique_email("nobody")).await;
    assert!(
        matches!(unknown, Err(AdminError::NoSuchAccount(_))),
        "{unknown:?}"
    );
    let logs = captured_logs();
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("admin.promoted") && l.contains(&user.id.to_string()))
            .count(),
        1,
        "one audit event, for the change"
    );
}
