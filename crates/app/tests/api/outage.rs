//! A database outage and its recovery, on a throwaway PostgreSQL cluster that the test creates
//! with `initdb` on a free port and stops, so the shared server is never disturbed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::Command;

use crate::helpers::{PASSWORD, TestApp, require_services};

/// A private PostgreSQL cluster. Runs as the `postgres` user when the tests run as root
/// (PostgreSQL refuses to run as root).
struct ThrowawayCluster {
    _root: tempfile::TempDir,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    from_path.or_else(|| {
        let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
        versions
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin").join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().await.ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl ThrowawayCluster {
    async fn create() -> Option<Self> {
        let initdb = find_tool("initdb")?;
        find_tool("pg_ctl")?;
        let is_root = output_of("id", &["-u"]).await.as_deref() == Some("0");
        let root = tempfile::tempdir().ok()?;
        let data = root.path().join("data");
        let socket_dir = root.path().join("sockets");
        std::fs::create_dir_all(&data).ok()?;
        std::fs::create_dir_all(&socket_dir).ok()?;
        if is_root {
            let uid: u32 = output_of("id", &["-u", "postgres"]).await?.parse().ok()?;
            let gid: u32 = output_of("id", &["-g", "postgres"]).await?.parse().ok()?;
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).ok()?;
            for dir in [&data, &socket_dir] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).ok()?;
            }
        }
        let cluster = Self {
            _root: root,
            data,
            socket_dir,
            port: free_port(),
            run_as_postgres: is_root,
        };
        let data = cluster.data.display().to_string();
        let initdb = initdb.display().to_string();
        let ok = cluster
            .run(
                &initdb,
                &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            )
            .await;
        ok.then_some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", program]);
            command
        } else {
            Command::new(program)
        }
    }

    async fn run(&self, program: &str, args: &[&str]) -> bool {
        let output = self.command(program).args(args).output().await;
        match output {
            Ok(output) if output.status.success() => true,
            Ok(output) => {
                eprintln!(
                    "{program} failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                false
            }
            Err(err) => {
                eprintln!("{program} could not run: {err}");
                false
            }
        }
    }

    fn pg_ctl(&self) -> String {
        find_tool("pg_ctl")
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    async fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.socket_dir.display()
        );
        let data = self.data.display().to_string();
        let log = Path::new(&data).join("server.log").display().to_string();
        let started = self
            .run(
                &self.pg_ctl(),
                &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
            )
            .await;
        assert!(started, "the throwaway cluster starts");
    }

    async fn stop(&self) {
        let data = self.data.display().to_string();
        let stopped = self
            .run(
                &self.pg_ctl(),
                &["-D", &data, "-m", "immediate", "-w", "stop"],
            )
            .await;
        assert!(stopped, "the throwaway cluster stops");
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let pg_ctl = self.pg_ctl();
        let mut command = if self.run_as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--", &pg_ctl]);
            command
        } else {
            std::process::Command::new(&pg_ctl)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

async fn timed_get(app: &TestApp, path: &str) -> (crate::helpers::TestResponse, Duration) {
    let started = Instant::now();
    let response = app.get(path).send().await;
    (response, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_a_database_outage_and_recovers_without_restart() {
    let cluster = ThrowawayCluster::create().await;
    if !require_services(
        "initdb and pg_ctl (PostgreSQL server binaries)",
        cluster.is_some(),
    ) {
        return;
    }
    let Some(cluster) = cluster else { return };
    cluster.start().await;
    let app = TestApp::builder()
        .embedded()
        .env("DATABASE_URL", &cluster.url())
        .env("DATABASE_POOL_SIZE", "3")
        .spawn()
        .await;
    let user = app.register().await;
    app.get("/health").send().await.assert_status(200);

    cluster.stop().await;

    let (health, took) = timed_get(&app, "/health").await;
    health.assert_status(503);
    assert_eq!(health.json["status"], "error");
    assert_eq!(health.json["database"], "disconnected");
    assert!(
        took < Duration::from_secs(2),
        "health answered in {took:?}, not within 2 s"
    );
    let (ready, _) = timed_get(&app, "/health/ready").await;
    ready.assert_status(503);
    app.get("/health/live").send().await.assert_status(200);

    let login = app.login(&user.email, PASSWORD).await;
    login.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        login.header("retry-after").is_some(),
        "503 carries Retry-After"
    );
    let create = app
        .post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "during the outage" }))
        .send()
        .await;
    create.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(create.header("retry-after").is_some());

    cluster.start().await;

    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/health").send().await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "health recovers once the database is back");
    app.login(&user.email, PASSWORD).await.assert_status(200);
    app.post("/api/data")
        .bearer(&user.access)
        .json(&json!({ "name": "after the outage" }))
        .send()
        .await
        .assert_status(201);
}

/// Whether the application's own connection to PostgreSQL is encrypted.
async fn connection_uses_tls(app: &TestApp) -> bool {
    use sea_orm::ConnectionTrait as _;
    let row = app
        .state
        .db
        .query_one_raw(aios_app::platform::db::statement(
            &*app.state.db,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            [],
        ))
        .await
        .expect("query pg_stat_ssl")
        .expect("a row");
    row.try_get::<bool>("", "ssl").expect("ssl column")
}

#[tokio::test]
async fn database_ssl_requires_tls_even_when_the_url_would_not() {
    let Some(database) = crate::helpers::TestDatabase::create().await else {
        require_services("PostgreSQL (TEST_DATABASE_URL)", false);
        return;
    };
    let separator = if database.url.contains('?') { '&' } else { '?' };
    let plain_url = format!("{}{separator}sslmode=disable", database.url);
    let plain = TestApp::builder()
        .embedded()
        .env("DATABASE_URL", &plain_url)
        .spawn()
        .await;
    assert!(
        !connection_uses_tls(&plain).await,
        "sslmode=disable alone connects in clear"
    );
    let forced = TestApp::builder()
        .embedded()
        .env("DATABASE_URL", &plain_url)
        .env("DATABASE_SSL", "true")
        .spawn()
        .await;
    assert!(
        connection_uses_tls(&forced).await,
        "DATABASE_SSL=true forces TLS"
    );
}
