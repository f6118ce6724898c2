//! The refresh grace window does not fork a session: every retried or concurrent refresh of one
//! token inside the window gets the pair the first one was issued, so the session keeps one
//! chain of refresh tokens and a stolen copy still collides with the owner's later.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;

use crate::auth_support::{age_used_refresh_tokens, claims_of, me, refresh};
use crate::helpers::{PASSWORD, TestApp, TestUser};

async fn session_ids(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/auth/sessions").bearer(token).send().await;
    response.assert_status(200);
    response.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect()
}

/// Locks every refresh-token row until the transaction ends: a row lock on PostgreSQL, the
/// write lock on SQLite.
async fn hold_refresh_tokens(app: &TestApp) -> sea_orm::DatabaseTransaction {
    let txn = aios_app::platform::db::begin_write(&app.state.db)
        .await
        .unwrap();
    if app.is_postgres() {
        entity::refresh_token::Entity::find()
            .lock_exclusive()
            .all(&txn)
            .await
            .unwrap();
    }
    txn
}

#[tokio::test]
async fn ten_concurrent_refreshes_of_one_token_get_one_successor_pair() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    // Hold the token's row while the ten arrive, so that they really overlap: on PostgreSQL all
    // of them find the token unused and queue on marking it used (nine lose that race).
    let hold = hold_refresh_tokens(&app).await;
    let (answers, ()) = tokio::join!(
        futures::future::join_all((0..10).map(|_| refresh(&app, &user.refresh))),
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            hold.rollback().await.unwrap();
        }
    );
    let pairs: Vec<TestUser> = answers
        .iter()
        .map(|a| {
            a.assert_status(200);
            TestUser::from_tokens(&a.json, &user.email, PASSWORD)
        })
        .collect();
    let refresh_tokens: HashSet<&str> = pairs.iter().map(|p| p.refresh.as_str()).collect();
    let access_tokens: HashSet<&str> = pairs.iter().map(|p| p.access.as_str()).collect();
    assert_eq!(refresh_tokens.len(), 1, "one successor refresh token");
    assert_eq!(access_tokens.len(), 1, "the same access token, re-sent");
    let successor = pairs[0].clone();
    assert_eq!(
        claims_of(&successor.access)["sid"],
        claims_of(&user.access)["sid"]
    );
    assert_eq!(session_ids(&app, &successor.access).await.len(), 1);

    // One chain: the successor rotates on, and nothing else was ever issued.
    let next = refresh(&app, &successor.refresh).await;
    next.assert_status(200);
    let next = TestUser::from_tokens(&next.json, &user.email, PASSWORD);
    me(&app, &next.access).await.assert_status(200);
    let sid: uuid::Uuid = claims_of(&user.access)["sid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rows = entity::refresh_token::Entity::find()
        .filter(entity::refresh_token::Column::SessionId.eq(sid))
        .all(&*app.state.db)
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        3,
        "the first token, its successor and the next one"
    );

    // After the window the old token is a stolen copy: the whole session ends.
    age_used_refresh_tokens(&app, 60).await;
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "TOKEN_REUSED");
    me(&app, &next.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&app, &next.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_thief_replaying_inside_the_window_shares_the_chain_and_is_caught_later() {
    let app = TestApp::spawn().await;
    let owner = app.register().await;
    let owners = refresh(&app, &owner.refresh).await;
    owners.assert_status(200);
    let owners = TestUser::from_tokens(&owners.json, &owner.email, PASSWORD);
    // A copy of the same token, replayed a moment later, gets nothing new.
    let thiefs = refresh(&app, &owner.refresh).await;
    thiefs.assert_status(200);
    let thiefs = TestUser::from_tokens(&thiefs.json, &owner.email, PASSWORD);
    assert_eq!(thiefs.refresh, owners.refresh);
    assert_eq!(thiefs.access, owners.access);
    // The owner rotates on; the thief's copy of that successor is spent once the window passes.
    refresh(&app, &owners.refresh).await.assert_status(200);
    age_used_refresh_tokens(&app, 60).await;
    refresh(&app, &thiefs.refresh)
        .await
        .assert_error(401, "TOKEN_REUSED");
    me(&app, &owners.access)
        .await
        .assert_error(401, "UNAUTHORIZED");
}
#[tokio::test]
async fn the_stored_successor_holds_no_readable_token() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let next = refresh(&app, &user.refresh).await;
    next.assert_status(200);
    let next = TestUser::from_tokens(&next.json, &user.email, PASSWORD);
    let used = entity::refresh_token::Entity::find()
        .filter(entity::refresh_token::Column::UsedAt.is_not_null())
        .one(&*app.state.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = used
        .successor
        .expect("the successor is stored with the used token");
    for secret in [&next.refresh, &next.access] {
        assert!(!sealed.contains(secret.as_str()), "a raw token is stored");
    }
    let access_body = next.access.split('.').nth(1).unwrap();
    assert!(!sealed.contains(access_body));
}

#[tokio::test]
async fn a_retry_of_a_token_spent_without_a_stored_successor_gets_no_new_pair() {
    // Spent by a server from before the successor was stored (a rolling deploy).
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let next = refresh(&app, &user.refresh).await;
    next.assert_status(200);
    let next = TestUser::from_tokens(&next.json, &user.email, PASSWORD);
    entity::refresh_token::Entity::update_many()
        .col_expr(
            entity::refresh_token::Column::Successor,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(entity::refresh_token::Column::UsedAt.is_not_null())
        .exec(&*app.state.db)
        .await
        .unwrap();
    refresh(&app, &user.refresh)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Nothing was forked, and nothing was revoked.
    assert_eq!(session_ids(&app, &next.access).await.len(), 1);
    refresh(&app, &next.refresh).await.assert_status(200);
}
