//! The commands behind the CLI. Each returns the process exit code.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use aios_app::platform::breaker::Breakers;
use aios_app::platform::push::credentials::VapidKeys;
use aios_app::platform::push::{DeviceToken, Push, PushError, PushMessage, PushService};
use aios_app::platform::{backup, db, shutdown, telemetry};
use aios_app::{AppState, Config, Overrides, Server};
use anyhow::Context as _;
use secrecy::ExposeSecret as _;

fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let _lock = lock_data_dir(&config)?;
    let addr = std::net::SocketAddr::new(config.host, config.port);
    let limits = config.connections;
    let (listener, state) = aios_app::server::starting(addr, limits, async {
        let state = AppState::build(config, Overrides::default()).await?;
        aios_app::users::admin::bootstrap(&state).await?;
        Ok(state)
    })
    .await?;
    let errors = state.error_tracker.clone();
    let server = Server::on_listener(state, listener).await?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "aios-server listening on http://{addr}");
    if let Some(addr) = server.metrics_addr()? {
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
    }
    let served = server.run(shutdown::signal()).await;
    // Whatever was reported last (the error that stops us, say) leaves before the process does.
    errors.flush(std::time::Duration::from_secs(2));
    served?;
    Ok(ExitCode::SUCCESS)
}

pub async fn worker(config: Config) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let _lock = lock_data_dir(&config)?;
    let grace = config.shutdown_timeout;
    let state = AppState::build(config, Overrides::default()).await?;
    let metrics = aios_app::server::MetricsServer::start(&state).await?;
    if let Some(metrics) = &metrics {
        tracing::info!(addr = %metrics.addr, "metrics on http://{}/metrics", metrics.addr);
    }
    let worker = aios_app::server::start_worker(&state, aios_app::server::Jobs::default());
    tracing::info!("worker running; stop it with SIGTERM or Ctrl-C");
    shutdown::signal().await;
    worker.stop(grace).await;
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    state.error_tracker.flush(std::time::Duration::from_secs(2));
    state.db.close().await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(config: Config) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let database = db::connect(&config).await?;
    let pending = db::pending_migrations(&database).await?;
    db::migrate(&database).await?;
    if pending.is_empty() {
        say("migrations: already up to date");
    }
    for name in pending {
        say(format!("applied {name}"));
    }
    database.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn db_check(mut config: Config) -> anyhow::Result<ExitCode> {
    // A check answers quickly: do not keep retrying an unreachable database.
    config.database.connect_timeout = std::time::Duration::from_secs(3);
    let backend = if config.database_url_is_postgres() {
        "postgresql".to_owned()
    } else {
        format!("sqlite ({})", config.sqlite_path().display())
    };
    let database = match db::connect(&config).await {
        Ok(database) => database,
        Err(err) => {
            say(format!("database: {backend}: unreachable: {err:#}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    say(format!("database: {backend}: connected"));
    let pending = db::pending_migrations(&database).await?;
    database.close().await;
    if pending.is_empty() {
        say("migrations: up to date");
        Ok(ExitCode::SUCCESS)
    } else {
        say(format!(
            "migrations: {} pending (run `aios-server migrate`):",
            pending.len()
        ));
        for name in pending {
            say(format!("  {name}"));
        }
        Ok(ExitCode::FAILURE)
    }
}

pub async fn db_reset(config: Config, yes: bool) -> anyhow::Result<ExitCode> {
    if config.is_production() {
        anyhow::bail!("db reset is refused when APP_ENV=production");
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("db reset deletes every row: pass --yes to confirm");
        }
        eprint!("This deletes ALL data in the database. Type 'reset' to continue: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "reset" {
            say("aborted");
            return Ok(ExitCode::FAILURE);
        }
    }
    telemetry::init(&config);
    let database = db::connect(&config).await?;
    db::reset(&database).await?;
    database.close().await;
    say("database reset: all tables dropped and migrations re-applied");
    Ok(ExitCode::SUCCESS)
}

pub async fn db_seed(config: Config) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let state = AppState::build(config, Overrides::default()).await?;
    let summary = aios_app::items::seed::demo(&state).await?;
    state.db.close().await;
    say(summary);
    Ok(ExitCode::SUCCESS)
}

pub async fn admin_create(config: Config, email: String) -> anyhow::Result<ExitCode> {
    let password = read_password()?;
    telemetry::init(&config);
    let state = AppState::build(config, Overrides::default()).await?;
    let result = aios_app::users::admin::create(&state, &email, password).await;
    state.db.close().await;
    match result {
        Ok(id) => {
            say(format!("created administrator {email} ({id})"));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("aios-server: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn admin_promote(config: Config, email: String) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let state = AppState::build(config, Overrides::default()).await?;
    let result = aios_app::users::admin::promote(&state, &email).await;
    state.db.close().await;
    match result {
        Ok(done) if done.already_admin => {
            say(format!(
                "{} ({}) is already an administrator",
                done.email, done.user_id
            ));
            Ok(ExitCode::SUCCESS)
        }
        Ok(done) => {
            say(format!(
                "promoted {} ({}) to administrator",
                done.email, done.user_id
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("aios-server: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn read_password() -> anyhow::Result<secrecy::SecretString> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            anyhow::bail!("the passwords do not match");
        }
        Ok(first.into())
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            anyhow::bail!("no password on standard input");
        }
        Ok(line.into())
    }
}

pub fn openapi() -> ExitCode {
    // `{:#}` is serde_json's pretty form.
    say(format!("{:#}", aios_app::router::openapi_document()));
    ExitCode::SUCCESS
}

pub fn push_vapid_keys() -> ExitCode {
    let keys = VapidKeys::generate();
    say(format!("VAPID_PUBLIC_KEY={}", keys.public_key()));
    say(format!(
        "VAPID_PRIVATE_KEY={}",
        keys.private_key().expose_secret()
    ));
    ExitCode::SUCCESS
}

/// Where `push test` sends its notification.
pub enum PushTarget {
    Subscription(std::path::PathBuf),
    Fcm(String),
    Apns(String),
}

pub async fn push_test(
    config: Config,
    target: PushTarget,
    title: String,
    body: String,
) -> anyhow::Result<ExitCode> {
    telemetry::init(&config);
    let token = match &target {
        PushTarget::Subscription(file) => {
            let json = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            DeviceToken::parse(PushService::WebPush, &json)
        }
        PushTarget::Fcm(token) => DeviceToken::parse(PushService::Fcm, token),
        PushTarget::Apns(token) => DeviceToken::parse(PushService::Apns, token),
    };
    let token = match token {
        Ok(token) => token,
        Err(err) => {
            eprintln!("aios-server: the device token is not valid: {err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let service = token.service();
    let push = Push::from_config(&config.push, &Breakers::default())?;
    match push.send(&token, &PushMessage::new(title, body)).await {
        Ok(()) => {
            say(format!("{service}: the notification was accepted"));
            Ok(ExitCode::SUCCESS)
        }
        Err(PushError::Gone) => {
            eprintln!("aios-server: {service} says this device token is no longer valid");
            Ok(ExitCode::FAILURE)
        }
        Err(PushError::NotConfigured(_)) => {
            let vars = match service {
                PushService::WebPush => "VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT",
                PushService::Fcm => "FCM_SERVICE_ACCOUNT",
                PushService::Apns => "APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC",
            };
            eprintln!("aios-server: {service} is not configured: set {vars}");
            Ok(ExitCode::FAILURE)
        }
        Err(err) => {
            eprintln!("aios-server: {service}: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Held by `serve`, `worker` and `backup` on SQLite, so that `restore` can tell they run.
fn lock_data_dir(config: &Config) -> anyhow::Result<Option<backup::lock::DataDirLock>> {
    if config.database_url_is_postgres() {
        return Ok(None);
    }
    backup::lock::DataDirLock::shared(&config.data_dir).map(Some)
}

pub async fn backup(config: Config, dest: std::path::PathBuf) -> anyhow::Result<ExitCode> {
    if config.database_url_is_postgres() {
        eprintln!("aios-server: {}", backup::POSTGRES_ROUTE);
        return Ok(ExitCode::from(2));
    }
    telemetry::init(&config);
    let _lock = lock_data_dir(&config)?;
    let database = db::connect(&config).await?;
    let manifest = backup::create(&database, &config, &dest).await;
    database.close().await;
    let manifest = manifest?;
    say(format!(
        "backup written to {}: database {} bytes, {}",
        dest.display(),
        manifest.database.bytes,
        match &manifest.files {
            Some(files) => format!("{} files ({} bytes)", files.count, files.bytes),
            None => "no files (S3 storage: keep them with bucket versioning)".to_owned(),
        }
    ));
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(config: Config, src: std::path::PathBuf) -> anyhow::Result<ExitCode> {
    if config.database_url_is_postgres() {
        eprintln!("aios-server: {}", backup::POSTGRES_ROUTE);
        return Ok(ExitCode::from(2));
    }
    telemetry::init(&config);
    let data_dir = config.data_dir.clone();
    let manifest = tokio::task::spawn_blocking(move || backup::restore(&config, &src)).await??;
    say(format!(
        "restored the backup of {} into {}: database {} bytes{}",
        manifest.created_at,
        data_dir.display(),
        manifest.database.bytes,
        manifest
            .files
            .map(|f| format!(", {} files", f.count))
            .unwrap_or_default()
    ));
    Ok(ExitCode::SUCCESS)
}
