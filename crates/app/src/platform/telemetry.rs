//! Logging with `tracing`: JSON in production, human-readable in development.
//!
//! Redaction is by construction: request logs carry method, route template, status, latency and
//! request id only; bodies, query strings and headers (`Authorization`, `Cookie`) are never
//! recorded, and SQL statement logging (which would carry hashes) is capped at `warn`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::config::{Config, LogFormat};

/// Targets whose debug output could contain stored secrets (hashes in SQL parameters) or is
/// too noisy to be useful; they stay at `warn` whatever `LOG_LEVEL` says.
const QUIET_TARGETS: &str = "sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=warn,h2=warn,\
                             tower_http=warn,redis=warn";

pub fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_new(format!("{level},{QUIET_TARGETS}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{QUIET_TARGETS}")))
}

/// Installs the global subscriber writing to stdout. Returns false if one was already set.
pub fn init(config: &Config) -> bool {
    use std::io::IsTerminal as _;
    let ansi = std::io::stdout().is_terminal();
    init_with_writer(&config.log_level, config.log_format, ansi, std::io::stdout)
}

/// Installs the global subscriber with any writer (tests capture the log this way).
pub fn init_with_writer<W>(level: &str, format: LogFormat, ansi: bool, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_ansi(ansi)
        .with_writer(writer);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    result.is_ok()
}

/// Events of security interest, one `audit` target so they can be routed and retained apart.
#[macro_export]
macro_rules! audit {
    ($event:literal $(, $($field:tt)*)?) => {
        tracing::info!(target: "audit", event = $event $(, $($field)*)?, "audit: {}", $event)
    };
}
