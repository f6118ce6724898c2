//! "Nothing lost", as issue 15 defines it: every 2xx write is in the database exactly once, no
//! 4xx write is, and every ambiguous one (timeout, reset, 5xx) is there exactly once after a
//! retry with the same `Idempotency-Key`. The database is read directly, not through the API.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::client::{self, Write};

/// What became of the writes of a run once the ambiguous ones were retried.
#[derive(Debug, Default)]
pub struct Settled {
    pub acknowledged: usize,
    pub refused: usize,
    pub ambiguous: usize,
    /// Ambiguous writes whose retry was answered from the stored response.
    pub replayed: usize,
    /// Final answer of every write, by item name.
    finals: HashMap<String, bool>,
}

/// Retries every ambiguous write with its own key and body until it gets a definite answer.
pub fn settle(port: u16, token: &str, writes: &[Write]) -> Settled {
    let bearer = format!("Bearer {token}");
    let mut settled = Settled::default();
    for write in writes {
        let succeeded = if write.exchange.ambiguous() {
            settled.ambiguous += 1;
            let retried = retry_until_definite(port, &bearer, write);
            settled.replayed += usize::from(retried.replayed);
            retried.succeeded()
        } else {
            write.exchange.succeeded()
        };
        if succeeded {
            settled.acknowledged += 1;
        } else {
            settled.refused += 1;
        }
        settled.finals.insert(write.name.clone(), succeeded);
    }
    settled
}

fn retry_until_definite(port: u16, bearer: &str, write: &Write) -> client::Exchange {
    let started = Instant::now();
    loop {
        let headers = [
            ("Authorization", bearer),
            ("Idempotency-Key", write.key.as_str()),
        ];
        let retried = client::send(port, "POST", "/api/data", &headers, Some(&write.body()));
        if !retried.ambiguous() {
            return retried;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the retry of {} never got a definite answer: {:?} {}",
            write.name,
            retried.outcome,
            retried.body
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// How many rows of `email`'s items named `tag-...` there are per name, read with SQL from
/// `database_url`.
pub fn items_by_name(database_url: &str, email: &str, tag: &str) -> HashMap<String, i64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .expect("connect to the application database");
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT i.name, count(*) FROM items i JOIN users u ON u.id = i.owner_id \
             WHERE u.email = $1 AND starts_with(i.name, $2) GROUP BY i.name",
        )
        .bind(email)
        .bind(format!("{tag}-"))
        .fetch_all(&mut conn)
        .await
        .expect("count the items");
        let _ = conn.close().await;
        rows.into_iter().collect()
    })
}

/// Panics unless every acknowledged write is stored exactly once and nothing else is.
pub fn assert_nothing_lost(settled: &Settled, stored: &HashMap<String, i64>) {
    let mut problems = Vec::new();
    for (name, succeeded) in &settled.finals {
        let rows = stored.get(name).copied().unwrap_or(0);
        match (succeeded, rows) {
            (true, 1) | (false, 0) => {}
            (true, n) => problems.push(format!("{name}: acknowledged, {n} rows")),
            (false, n) => problems.push(format!("{name}: refused, {n} rows")),
        }
    }
    for name in stored.keys() {
        if !settled.finals.contains_key(name) {
            problems.push(format!("{name}: stored but never sent"));
        }
    }
    assert!(
        problems.is_empty(),
        "writes lost or doubled ({} of {}): {:?}",
        problems.len(),
        settled.finals.len(),
        problems.iter().take(10).collect::<Vec<_>>()
    );
}

impl std::fmt::Display for Settled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} writes: {} acknowledged, {} refused; {} were ambiguous and retried ({} answered \
             from the stored response)",
            self.finals.len(),
            self.acknowledged,
            self.refused,
            self.ambiguous,
            self.replayed
        )
    }
}
