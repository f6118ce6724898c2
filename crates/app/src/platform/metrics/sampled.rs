//! The series sampled when `/metrics` is scraped rather than recorded as things happen: the
//! connection pools of the scraped application (so that each application in a process full of
//! tests reports its own) and the process's resources. Written in the Prometheus text format
//! after what the recorder renders.

use std::fmt::Write as _;

use super::process::ProcessStats;

/// One connection pool as `sqlx` reports it. sqlx exposes no count of tasks waiting for a
/// connection; `in_use == max` is the sign of a saturated pool (and acquire timeouts answer 503).
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// `app` (requests) or `jobs` (the job queues' own pool).
    pub pool: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub fn render(out: &mut String, pools: &[PoolStats], process: &ProcessStats) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    family(
        out,
        "db_pool_connections",
        "gauge",
        "Open database connections by pool and state (idle, in_use)",
    );
    for p in pools {
        let in_use = p.size.saturating_sub(p.idle);
        let pool = p.pool;
        let _ = writeln!(
            out,
            "db_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {}",
            p.idle
        );
        let _ = writeln!(
            out,
            "db_pool_connections{{pool=\"{pool}\",state=\"in_use\"}} {in_use}"
        );
    }
    family(
        out,
        "db_pool_max_connections",
        "gauge",
        "The most connections a pool opens (DATABASE_POOL_SIZE, JOBS_POOL_SIZE)",
    );
    for p in pools {
        let _ = writeln!(
            out,
            "db_pool_max_connections{{pool=\"{}\"}} {}",
            p.pool, p.max
        );
    }
    let gauges = [
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident set size of the process in bytes",
            process.resident_bytes.map(|v| v as f64),
        ),
        (
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time the process has used, in seconds",
            process.cpu_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Open file descriptors (sockets included)",
            process.open_fds.map(|v| v as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "The soft limit of open file descriptors (ulimit -n)",
            process.max_fds.map(|v| v as f64),
        ),
        (
            "process_threads",
            "gauge",
            "Threads of the process (runtime workers and the blocking pool)",
            process.threads.map(|v| v as f64),
        ),
    ];
    for (name, kind, help, value) in gauges {
        if let Some(value) = value {
            family(out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
    }
}
