//! What every scenario does around its fault: a server on a database, a user, probes while the
//! fault lasts, the wait for recovery, and the figures printed for `docs/reliability.md`.

use std::time::{Duration, Instant};

use crate::client::{self, Exchange, Record, Summary};
use crate::ledger;
use crate::support::{Cluster, Served};

/// A served binary, migrated on `database_url`, with one registered user.
pub struct Rig {
    pub database_url: String,
    // Kept for its data directory, which the server uses.
    _cluster: Cluster,
    pub server: Served,
    pub email: String,
    pub token: String,
}

impl Rig {
    pub fn start(database_url: &str, vars: &[(&'static str, &'static str)]) -> Self {
        let cluster = Cluster::new(Some(database_url), vars);
        let server = Served::start(cluster.command().arg("serve"));
        let email = crate::support::unique_email("chaos");
        let token = server.register(&email);
        Self {
            database_url: database_url.to_owned(),
            _cluster: cluster,
            server,
            email,
            token,
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// Settles the load's writes and checks that nothing was lost or doubled.
    pub fn assert_nothing_lost(&self, record: &Record, tag: &str) -> ledger::Settled {
        let settled = ledger::settle(self.port(), &self.token, &record.writes);
        let stored = ledger::items_by_name(&self.database_url, &self.email, tag);
        ledger::assert_nothing_lost(&settled, &stored);
        settled
    }

    /// The server's log lines about failed requests (their causes), for assertion messages.
    pub fn failures_logged(&self) -> String {
        let log = self.server.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("request failed"))
            .take(5)
            .collect();
        lines.join("\n")
    }

    /// True while the process still runs (it did not crash or exit on the fault).
    pub fn process_runs(&self) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server.pid()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("State:"))
            .is_some_and(|l| !l.contains("zombie"))
    }
}

/// Sends `GET path` every 200 ms until `until`, recording every answer.
pub fn probe_until(port: u16, paths: &[&str], until: Instant) -> Vec<Exchange> {
    let mut probes = Vec::new();
    while Instant::now() < until {
        for path in paths {
            probes.push(client::send(port, "GET", path, &[], None));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    probes
}

/// Polls until `/health/ready` is 200 and a write succeeds; the time that took from `since`.
pub fn time_to_recover(rig: &Rig, since: Instant, limit: Duration) -> Option<Duration> {
    let bearer = format!("Bearer {}", rig.token);
    let mut attempt = 0;
    while since.elapsed() < limit {
        let ready = client::send(rig.port(), "GET", "/health/ready", &[], None);
        if ready.succeeded() {
            let name = format!("probe-{}", uuid::Uuid::new_v4().simple());
            let write = client::send(
                rig.port(),
                "POST",
                "/api/data",
                &[("Authorization", &bearer)],
                Some(&client::write_body(&name)),
            );
            if write.succeeded() {
                return Some(since.elapsed());
            }
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(if attempt < 50 { 100 } else { 250 }));
    }
    None
}

/// When the load's last failure (of the requests sent after `since`) ended, counted from
/// `since`: the service recovered then, as the clients saw it.
pub fn last_failure_after(exchanges: &[&Exchange], since: Instant) -> Duration {
    exchanges
        .iter()
        .filter(|e| e.sent_at >= since && !e.succeeded())
        .map(|e| e.ended_at().saturating_duration_since(since))
        .max()
        .unwrap_or_default()
}

/// One line of figures on stderr (`cargo test ... -- --nocapture` shows them).
pub fn report(scenario: &str, what: &str, figures: impl std::fmt::Display) {
    eprintln!("CHAOS {scenario} | {what} | {figures}");
}

/// Every request the load sent, reads and writes.
pub fn all(record: &Record) -> Vec<&Exchange> {
    record
        .writes
        .iter()
        .map(|w| &w.exchange)
        .chain(record.reads.iter())
        .collect()
}

/// The summary of every request sent between `from` and `to`.
pub fn window(record: &Record, from: Instant, to: Instant) -> Summary {
    Summary::between(all(record), from, to)
}
