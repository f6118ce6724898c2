//! The queries of `GET /api/data` and `GET /api/data/:id` use the indexes, on a 100k-row items
//! table: the very SQL the repo issues is explained (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
//! PostgreSQL) and must name an `idx_items_owner_*` index or the primary key, never a full scan.

use aios_app::items::dto::ItemSort;
use aios_app::items::repo::{self, SortKey};
use aios_app::platform::db;
use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryTrait, Statement};
use uuid::Uuid;

use crate::helpers::{self, TestApp};

const OWNERS: i64 = 100;
const ITEMS_PER_OWNER: i64 = 1_000;

/// 100 owners (the test user and 99 more) with 1,000 items each, one in ten a tombstone, and
/// `item_owners` consistent with them. Raw SQL, so that it takes a second, not minutes.
async fn fill(app: &TestApp) -> Uuid {
    let user = app.register().await;
    let conn = &*app.state.db;
    let statements: Vec<String> = match conn.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let now = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";
            let at = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', printf('-%d seconds', n.i))";
            vec![
                format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {})
                     INSERT INTO users (id, email, name, password_hash, role, email_verified,
                                        created_at, updated_at)
                     SELECT randomblob(16), 'bulk-' || i || '@example.com', NULL, 'x', 'user', 0,
                            {now}, {now} FROM n",
                    OWNERS - 1
                ),
                format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ITEMS_PER_OWNER})
                     INSERT INTO items (id, owner_id, name, description, data, version, change_seq,
                                        created_at, updated_at, deleted_at)
                     SELECT randomblob(16), u.id, 'item ' || n.i, NULL, NULL, 1, n.i, {at}, {at},
                            CASE WHEN n.i % 10 = 0 THEN {at} END
                     FROM n CROSS JOIN users u"
                ),
                "ANALYZE".to_owned(),
            ]
        }
        _ => {
            let at = "now() - g.i * interval '1 second'";
            vec![
                format!(
                    "INSERT INTO users (id, email, name, password_hash, role, email_verified,
                                        created_at, updated_at)
                     SELECT gen_random_uuid(), 'bulk-' || i || '@example.com', NULL, 'x', 'user',
                            false, now(), now()
                     FROM generate_series(1, {}) AS g(i)",
                    OWNERS - 1
                ),
                format!(
                    "INSERT INTO items (id, owner_id, name, description, data, version, change_seq,
                                        created_at, updated_at, deleted_at)
                     SELECT gen_random_uuid(), u.id, 'item ' || g.i, NULL, NULL, 1, g.i, {at}, {at},
                            CASE WHEN g.i % 10 = 0 THEN {at} END
                     FROM generate_series(1, {ITEMS_PER_OWNER}) AS g(i) CROSS JOIN users u"
                ),
                "VACUUM ANALYZE items".to_owned(),
            ]
        }
    };
    for sql in statements {
        conn.execute_unprepared(&sql).await.expect(&sql);
    }
    let owners = format!(
        "INSERT INTO item_owners (owner_id, last_seq, live_count, purged_seq)
         SELECT id, {ITEMS_PER_OWNER}, {}, 0 FROM users",
        ITEMS_PER_OWNER - ITEMS_PER_OWNER / 10
    );
    conn.execute_unprepared(&owners).await.expect("item_owners");
    let total = conn
        .query_one_raw(db::statement(conn, "SELECT COUNT(*) AS n FROM items", []))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(total, OWNERS * ITEMS_PER_OWNER, "a 100k-row table");
    user.id
}

/// The plan of a statement, one line per node.
async fn plan(app: &TestApp, statement: Statement) -> Vec<String> {
    let conn = &*app.state.db;
    let backend = conn.get_database_backend();
    let (prefix, column) = match backend {
        DatabaseBackend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        _ => ("EXPLAIN ", "QUERY PLAN"),
    };
    let explain = Statement {
        sql: format!("{prefix}{}", statement.sql),
        values: statement.values,
        db_backend: backend,
    };
    conn.query_all_raw(explain)
        .await
        .expect("EXPLAIN runs")
        .iter()
        .map(|row| row.try_get::<String>("", column).unwrap())
        .collect()
}

struct Query {
    what: String,
    statement: Statement,
    /// The index the plan must search.
    index: &'static str,
    /// Whether the index must also give the order (no sort step).
    ordered: bool,
}

fn query(what: String, statement: Statement, index: &'static str, ordered: bool) -> Query {
    Query {
        what,
        statement,
        index,
        ordered,
    }
}

/// Every query `GET /api/data` and `GET /api/data/:id` issue, with what each must use.
fn queries(owner: Uuid, backend: DatabaseBackend) -> Vec<Query> {
    let owner = entity::UserId(owner);
    let an_hour_ago = Utc::now() - TimeDelta::hours(1);
    let mut out = Vec::new();
    for (sort, index, key) in [
        (
            ItemSort::CreatedAtDesc,
            "idx_items_owner_created",
            SortKey::Time(an_hour_ago),
        ),
        (
            ItemSort::CreatedAt,
            "idx_items_owner_created",
            SortKey::Time(an_hour_ago),
        ),
        (
            ItemSort::UpdatedAtDesc,
            "idx_items_owner_updated",
            SortKey::Time(an_hour_ago),
        ),
        (
            ItemSort::UpdatedAt,
            "idx_items_owner_updated",
            SortKey::Time(an_hour_ago),
        ),
        (
            ItemSort::Name,
            "idx_items_owner_name",
            SortKey::Text("item 500".into()),
        ),
        (
            ItemSort::NameDesc,
            "idx_items_owner_name",
            SortKey::Text("item 500".into()),
        ),
    ] {
        let first = repo::list_live_query(owner, None, sort, None, 0, 21);
        out.push(query(
            format!("first page {sort:?}"),
            first.build(backend),
            index,
            true,
        ));
        let offset = repo::list_live_query(owner, None, sort, None, 40, 21);
        out.push(query(
            format!("offset page {sort:?}"),
            offset.build(backend),
            index,
            true,
        ));
        let after = Some((key, entity::ItemId::new()));
        let keyset = repo::list_live_query(owner, None, sort, after, 0, 21);
        out.push(query(
            format!("cursor page {sort:?}"),
            keyset.build(backend),
            index,
            true,
        ));
        // With a substring filter the planner may prefer reading the owner's rows through any
        // of the owner's indexes and sorting the few that match: still no full scan.
        let search = repo::list_live_query(owner, Some("item 1"), sort, None, 0, 21);
        out.push(query(
            format!("q page {sort:?}"),
            search.build(backend),
            "idx_items_owner_",
            false,
        ));
    }
    let count = repo::count_live_query(owner, None).build(backend);
    out.push(query("total".into(), count, "idx_items_owner_", false));
    let count_q = repo::count_live_query(owner, Some("item 1")).build(backend);
    out.push(query(
        "total with q".into(),
        count_q,
        "idx_items_owner_",
        false,
    ));
    let get = repo::find_live_query(owner, entity::ItemId::new()).build(backend);
    let primary = match backend {
        DatabaseBackend::Sqlite => "sqlite_autoindex_items_1",
        _ => "items_pkey",
    };
    out.push(query("get by id".into(), get, primary, false));
    out
}

#[tokio::test]
async fn list_and_get_use_the_indexes_on_sqlite() {
    let app = TestApp::builder().embedded().spawn().await;
    let owner = fill(&app).await;
    for Query {
        what,
        statement,
        index,
        ordered,
    } in queries(owner, DatabaseBackend::Sqlite)
    {
        let lines = plan(&app, statement).await;
        let text = lines.join("\n");
        eprintln!("{what}:\n{text}\n");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("SEARCH items USING") && l.contains(index)),
            "{what}: expected a search of {index}:\n{text}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("SCAN items")),
            "{what}: a full scan of items:\n{text}"
        );
        assert!(
            !ordered || !text.contains("TEMP B-TREE"),
            "{what}: the index should give the order, not a sort:\n{text}"
        );
    }
}

#[tokio::test]
async fn list_and_get_use_the_indexes_on_postgres() {
    let app = TestApp::spawn().await;
    if !helpers::require_services("PostgreSQL", app.is_postgres()) {
        return;
    }
    let owner = fill(&app).await;
    for Query {
        what,
        statement,
        index,
        ordered,
    } in queries(owner, DatabaseBackend::Postgres)
    {
        let lines = plan(&app, statement).await;
        let text = lines.join("\n");
        eprintln!("{what}:\n{text}\n");
        assert!(
            lines.iter().any(|l| l.contains("Index")
                && l.contains(&format!(" {index}"))
                && l.contains("items")),
            "{what}: expected {index}:\n{text}"
        );
        assert!(
            !text.contains("Seq Scan on items"),
            "{what}: a full scan of items:\n{text}"
        );
        if ordered {
            assert!(
                !lines.iter().any(|l| l.trim_start().starts_with("-> Sort")
                    || l.trim_start().starts_with("Sort ")),
                "{what}: the index should give the order, not a sort:\n{text}"
            );
        }
    }
}
