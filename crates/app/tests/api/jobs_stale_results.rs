//! apalis writes an attempt's result late (batched, when its worker next polls). When a retry
//! had been fetched by then, that late write used to put the running job back to `Failed`, where
//! it was fetched and run a second time. These tests replay apalis 1.0's own result statement,
//! as it reaches the database late, on both databases.

use aios_app::platform::db::job_store_on;
use aios_app::platform::jobs::store::JobStore;
use serde_json::json;

use crate::helpers::TestApp;

const QUEUE: &str = "test:stale-results";
/// A worker of that queue, which the test plays.
const WORKER: &str = "test-worker";

/// apalis-sqlite 1.0's `queries/task/ack.sql`, verbatim in effect.
const SQLITE_ACK: &str = "WITH j AS (SELECT value ->> 'task_id' AS task_id, \
    value ->> 'attempt' AS attempt, value ->> 'result' AS result, value ->> 'status' AS status \
    FROM json_each(?1)) \
    UPDATE Jobs SET status = j.status, attempts = j.attempt, last_result = j.result, \
    done_at = strftime('%s', 'now') FROM j WHERE Jobs.id = j.task_id AND Jobs.lock_by = ?2";

/// apalis-postgres 1.0's `queries/task/handle_result.sql`, without its row lock.
const POSTGRES_ACK: &str = "WITH j AS (SELECT (value ->> 'task_id')::text AS task_id, \
    (value ->> 'attempt')::integer AS attempt, value -> 'result' AS result, \
    value ->> 'status' AS status FROM jsonb_array_elements($1::jsonb) AS value) \
    UPDATE apalis.jobs AS jobs SET status = j.status, attempts = j.attempt, \
    last_result = j.result, done_at = NOW() FROM j \
    WHERE jobs.id = j.task_id AND jobs.lock_by = $2";

/// A job of a queue nobody works on, as its retry looks once fetched: attempt 1 recorded as
/// failed, then locked again by a worker for attempt 2. Returns (job id, worker).
async fn a_retry_in_flight(store: &JobStore) -> (String, String) {
    assert!(
        store
            .push_unique(QUEUE, "only", &json!({"period": 1}), 5)
            .await
            .expect("queued")
    );
    match store {
        JobStore::Sqlite(pool) => {
            let worker = WORKER.to_owned();
            sqlx::query(
                "INSERT INTO Workers (id, worker_type, storage_name) VALUES (?1, ?2, 'test')",
            )
            .bind(&worker)
            .bind(QUEUE)
            .execute(pool)
            .await
            .expect("a worker");
            let (id,): (String,) = sqlx::query_as(
                "UPDATE Jobs SET status = 'Queued', attempts = 1, lock_by = ?1, \
                     lock_at = strftime('%s', 'now') WHERE job_type = ?2 RETURNING id",
            )
            .bind(&worker)
            .bind(QUEUE)
            .fetch_one(pool)
            .await
            .expect("fetched");
            (id, worker)
        }
        JobStore::Postgres(pool) => {
            let worker = WORKER.to_owned();
            sqlx::query(
                "INSERT INTO apalis.workers (id, worker_type, storage_name) VALUES ($1, $2, 'test')",
            )
            .bind(&worker)
            .bind(QUEUE)
            .execute(pool)
            .await
            .expect("a worker");
            let (id,): (String,) = sqlx::query_as(
                "UPDATE apalis.jobs SET status = 'Queued', attempts = 1, lock_by = $1, \
                 lock_at = NOW() WHERE job_type = $2 RETURNING id",
            )
            .bind(&worker)
            .bind(QUEUE)
            .fetch_one(pool)
            .await
            .expect("fetched");
            (id, worker)
        }
    }
}

async fn ack(store: &JobStore, id: &str, worker: &str, attempt: u32, status: &str) {
    let results = json!([{
        "task_id": id,
        "attempt": attempt,
        "status": status,
        "result": if status == "Done" { json!({"Ok": null}) } else { json!({"Err": "boom"}) },
    }]);
    match store {
        JobStore::Sqlite(pool) => sqlx::query(SQLITE_ACK)
            .bind(results.to_string())
            .bind(worker)
            .execute(pool)
            .await
            .map(drop),
        JobStore::Postgres(pool) => sqlx::query(POSTGRES_ACK)
            .bind(results)
            .bind(worker)
            .execute(pool)
            .await
            .map(drop),
    }
    .expect("the result statement runs");
}

async fn status_and_attempts(store: &JobStore, id: &str) -> (String, i64) {
    match store {
        JobStore::Sqlite(pool) => {
            sqlx::query_as("SELECT status, attempts FROM Jobs WHERE id = ?1")
                .bind(id)
                .fetch_one(pool)
                .await
        }
        JobStore::Postgres(pool) => {
            sqlx::query_as("SELECT status, attempts::bigint FROM apalis.jobs WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
        }
    }
    .expect("the job")
}

#[tokio::test]
async fn a_late_result_of_an_earlier_attempt_leaves_the_running_retry_alone() {
    let app = TestApp::spawn().await;
    let store = job_store_on(&app.state.db);
    let (id, worker) = a_retry_in_flight(&store).await;

    ack(&store, &id, &worker, 1, "Failed").await;
    assert_eq!(
        status_and_attempts(&store, &id).await,
        ("Queued".to_owned(), 1),
        "attempt 1's late result must not make the running attempt 2 fetchable again"
    );

    ack(&store, &id, &worker, 2, "Done").await;
    assert_eq!(
        status_and_attempts(&store, &id).await,
        ("Done".to_owned(), 2)
    );
}

#[tokio::test]
async fn the_result_of_the_running_attempt_is_recorded() {
    let app = TestApp::spawn().await;
    let store = job_store_on(&app.state.db);
    let (id, worker) = a_retry_in_flight(&store).await;

    ack(&store, &id, &worker, 2, "Failed").await;
    assert_eq!(
        status_and_attempts(&store, &id).await,
        ("Failed".to_owned(), 2)
    );
}
