//! The process's own resources, read from `/proc/self` at scrape time (Linux; elsewhere the
//! series are absent). The figures are those of `process_*` in the Prometheus client libraries.

use std::path::Path;

/// Linux reports CPU time in clock ticks of `USER_HZ`, which is 100 on every architecture the
/// kernel's ABI still lets vary.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub threads: Option<u64>,
}

/// Reads `/proc/self`: blocking file reads, so call it off the async runtime.
pub fn sample() -> ProcessStats {
    let proc = Path::new("/proc/self");
    let status = std::fs::read_to_string(proc.join("status")).unwrap_or_default();
    let stat = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
    let limits = std::fs::read_to_string(proc.join("limits")).unwrap_or_default();
    let open_fds = std::fs::read_dir(proc.join("fd"))
        .ok()
        .map(|entries| entries.count() as u64);
    ProcessStats {
        resident_bytes: status_kib(&status, "VmRSS:").map(|kib| kib * 1024),
        cpu_seconds: cpu_seconds(&stat),
        open_fds,
        max_fds: max_open_files(&limits),
        threads: status_kib(&status, "Threads:"),
    }
}

/// A numeric field of `/proc/self/status` (`VmRSS:   18236 kB`).
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// `utime + stime` of `/proc/self/stat`, fields 14 and 15. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing one.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let stat = "1234 (aios server) S 1 1234 1234 0 -1 4194560 3000 0 0 0 250 75 0 0 20 0 9";
        assert_eq!(cpu_seconds(stat), Some(3.25));
        let status = "Name:\taios-server\nVmRSS:\t   18236 kB\nThreads:\t7\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(18236));
        assert_eq!(status_kib(status, "Threads:"), Some(7));
        let limits = "Limit  Soft Limit  Hard Limit  Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_sampled() {
        let stats = sample();
        assert!(stats.resident_bytes.is_some_and(|b| b > 1024 * 1024));
        assert!(stats.open_fds.is_some_and(|n| n >= 3));
        assert!(stats.cpu_seconds.is_some());
    }
}
