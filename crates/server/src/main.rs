//! The `aios-server` binary: one executable, several commands. `serve` is the default.

mod commands;

// The global allocator is the system's (glibc malloc): measured against mimalloc and jemalloc
// with bench/login_memory.sh, it settles lowest once password hashing reuses its memory
// (docs/performance.md, ADR 0014).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aios-server",
    version,
    about = "The backend REST API for mobile apps.",
    long_about = "The backend REST API for mobile apps. Without a command it serves HTTP.\n\
                  Configuration comes from environment variables (and .env): see README.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default). Applies pending migrations first and, unless
    /// JOBS_IN_PROCESS=false, runs background jobs in the same process.
    Serve,
    /// Run background jobs only (outbox relay and scheduled maintenance), no HTTP.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI 3.1 document (what `/api/openapi.json` serves, with `servers` relative
    /// to where it is read). Needs no configuration, database or network.
    Openapi,
    /// Write a backup of the embedded SQLite database (a consistent snapshot, taken while the
    /// server runs) and of the uploads on local disk into the new directory PATH.
    Backup {
        /// A directory that does not exist yet.
        path: std::path::PathBuf,
    },
    /// Restore a backup into DATA_DIR and the upload directory. Refused while a server, worker
    /// or backup runs on DATA_DIR.
    Restore {
        /// A directory written by `aios-server backup`.
        path: std::path::PathBuf,
    },
    /// Push notifications: VAPID keys, and a test notification through a provider.
    Push {
        #[command(subcommand)]
        command: PushCommand,
    },
}

#[derive(Subcommand)]
enum PushCommand {
    /// Print a new VAPID key pair (VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY) for Web Push. Needs
    /// no configuration.
    VapidKeys,
    /// Send one notification now, through the same code as the background jobs, and say what
    /// the provider answered. Exits 1 unless it was accepted.
    #[command(group(clap::ArgGroup::new("target").required(true)
        .args(["subscription", "fcm_token", "apns_token"])))]
    Test {
        /// A file holding a browser's PushSubscription as JSON (Web Push).
        #[arg(long, value_name = "FILE")]
        subscription: Option<std::path::PathBuf>,
        /// An FCM registration token.
        #[arg(long, value_name = "TOKEN")]
        fcm_token: Option<String>,
        /// An APNs device token (hex).
        #[arg(long, value_name = "TOKEN")]
        apns_token: Option<String>,
        #[arg(long, default_value = "aios-server")]
        title: String,
        #[arg(long, default_value = "A test notification")]
        body: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Check connectivity and list pending migrations; exits 1 if unreachable or behind.
    Check,
    /// Drop every table and re-apply all migrations. Refused when APP_ENV=production.
    Reset {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Add a demo user (demo@example.com) with a few items, for trying the API.
    Seed,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator. The password is prompted for on a terminal, or read as one
    /// line from standard input when piped.
    Create {
        /// The administrator's email address.
        email: String,
    },
    /// Make an existing account an administrator. Its live sessions get the role at once
    /// (with Redis, or on PostgreSQL; on SQLite without Redis a running server sees it within
    /// 60 s). Exits 1 if there is no such account.
    Promote {
        /// The account's email address.
        email: String,
    },
}

fn main() -> ExitCode {
    // Before anything can open a TLS connection (PostgreSQL, Redis, SMTP, SendGrid).
    aios_app::platform::tls::install_default_provider();
    let cli = Cli::parse();
    // Making keys needs no configuration: it is what one does before there is any.
    if let Some(Command::Push {
        command: PushCommand::VapidKeys,
    }) = cli.command
    {
        return commands::push_vapid_keys();
    }
    if let Some(Command::Openapi) = cli.command {
        return commands::openapi();
    }
    let config = match aios_app::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("aios-server: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("aios-server: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => commands::serve(config).await,
            Command::Worker => commands::worker(config).await,
            Command::Migrate => commands::migrate(config).await,
            Command::Backup { path } => commands::backup(config, path).await,
            Command::Restore { path } => commands::restore(config, path).await,
            Command::Db { command } => match command {
                DbCommand::Check => commands::db_check(config).await,
                DbCommand::Reset { yes } => commands::db_reset(config, yes).await,
                DbCommand::Seed => commands::db_seed(config).await,
            },
            Command::Admin { command } => match command {
                AdminCommand::Create { email } => commands::admin_create(config, email).await,
                AdminCommand::Promote { email } => commands::admin_promote(config, email).await,
            },
            Command::Openapi => Ok(commands::openapi()),
            Command::Push { command } => match command {
                PushCommand::VapidKeys => Ok(commands::push_vapid_keys()),
                PushCommand::Test {
                    subscription,
                    fcm_token,
                    apns_token,
                    title,
                    body,
                } => {
                    let target = match (subscription, fcm_token, apns_token) {
                        (Some(file), _, _) => commands::PushTarget::Subscription(file),
                        (None, Some(token), _) => commands::PushTarget::Fcm(token),
                        (None, None, token) => {
                            commands::PushTarget::Apns(token.unwrap_or_default())
                        }
                    };
                    commands::push_test(config, target, title, body).await
                }
            },
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "aios-server stopped with an error");
            eprintln!("aios-server: {err:#}");
            ExitCode::FAILURE
        }
    }
}
