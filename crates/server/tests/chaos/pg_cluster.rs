//! A throwaway PostgreSQL cluster on a free port, made with `initdb`, that a test may stop, kill,
//! freeze and restart (on the same port) without disturbing the shared server. When the tests
//! run as root it runs as the `postgres` user, since PostgreSQL refuses to run as root.

use sqlx::Connection as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::gate::find_tool;
use crate::support::free_port;

pub struct PgCluster {
    // Removed when the cluster is dropped.
    _root: tempfile::TempDir,
    data: PathBuf,
    sockets: PathBuf,
    pub port: u16,
    run_as_postgres: bool,
}

/// How `pg_ctl stop` shuts the cluster down.
#[derive(Clone, Copy, Debug)]
pub enum StopMode {
    /// Disconnects the clients (`FATAL 57P01` on every backend) and checkpoints.
    Fast,
    /// Kills every backend at once, like a crash; recovery replays the WAL at the next start.
    Immediate,
}

fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl PgCluster {
    /// Makes and starts a cluster; panics when `initdb` is there but fails.
    pub fn start() -> Self {
        let is_root = output_of("id", &["-u"]).as_deref() == Some("0");
        let root = tempfile::tempdir().expect("a temporary directory");
        let data = root.path().join("data");
        let sockets = root.path().join("sockets");
        std::fs::create_dir_all(&data).expect("the data directory");
        std::fs::create_dir_all(&sockets).expect("the socket directory");
        if is_root {
            use std::os::unix::fs::PermissionsExt as _;
            let uid: u32 = output_of("id", &["-u", "postgres"])
                .and_then(|id| id.parse().ok())
                .expect("a postgres user to run PostgreSQL as");
            let gid: u32 = output_of("id", &["-g", "postgres"])
                .and_then(|id| id.parse().ok())
                .expect("the postgres group");
            std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            for dir in [&data, &sockets] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown");
            }
        }
        let cluster = Self {
            _root: root,
            data,
            sockets,
            port: free_port(),
            run_as_postgres: is_root,
        };
        let data = cluster.data.display().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    /// `postgresql://` URL of the cluster's `postgres` database, over TCP.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let tool = find_tool(tool)
            .unwrap_or_else(|| panic!("{tool} is not installed"))
            .display()
            .to_string();
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", &tool]);
            command
        } else {
            Command::new(tool)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("{tool} could not run: {err}"));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts the (stopped) cluster on its port and waits until it accepts connections.
    pub fn start_again(&self) {
        // fsync off: a test cluster needs no durability against power loss, and a loaded
        // machine's fsyncs would dominate every timing.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.sockets.display()
        );
        let data = self.data.display().to_string();
        // In a directory the server's user owns.
        let log = self.sockets.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    pub fn stop(&self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
    }

    /// The postmaster and every process it forked (backends, checkpointer, WAL writer...);
    /// none when the cluster is not running.
    fn processes(&self) -> Vec<u32> {
        let pid_file =
            std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap_or_default();
        let Some(postmaster) = pid_file
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": the command may hold spaces, so split after ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            if parent == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    fn signal_all(&self, signal: &str) {
        let pids: Vec<String> = self.processes().iter().map(u32::to_string).collect();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .args(&pids)
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pids:?}");
    }

    /// Freezes every process of the cluster (`kill -STOP`): connections are still accepted by
    /// the kernel, but nothing answers.
    pub fn freeze(&self) {
        self.signal_all("STOP");
    }

    pub fn thaw(&self) {
        self.signal_all("CONT");
    }

    /// Takes `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in a transaction of its own, held
    /// until the returned guard is dropped: every statement on the table waits meanwhile.
    pub fn lock_table(&self, table: &'static str) -> TableLock {
        let url = self.url();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let holder = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
                let mut tx = conn.begin().await.expect("begin");
                let lock = format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
                sqlx::query(sqlx::AssertSqlSafe(lock))
                    .execute(&mut *tx)
                    .await
                    .expect("lock the table");
                let _ = locked_tx.send(());
                let _ = release_rx.await;
                let _ = tx.rollback().await;
                let _ = conn.close().await;
            });
        });
        locked_rx.recv().expect("the table is locked");
        TableLock {
            release: Some(release_tx),
            holder: Some(holder),
        }
    }

    /// `pg_terminate_backend` of every connection whose `application_name` starts with
    /// `aios-server` (the pool, the job pool, the revocation listener); how many there were.
    pub fn terminate_app_backends(&self) -> u64 {
        let sql = "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
                   WHERE application_name LIKE 'aios-server%' AND pid <> pg_backend_pid()";
        let url = self.url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            let killed: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("pg_terminate_backend");
            let _ = conn.close().await;
            u64::try_from(killed).unwrap_or(0)
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // A frozen cluster ignores SIGQUIT until it is thawed. Quietly: some of its processes
        // may be gone already.
        if self.data.join("postmaster.pid").exists() {
            let pids: Vec<String> = self.processes().iter().map(u32::to_string).collect();
            let _ = Command::new("kill")
                .arg("-CONT")
                .args(&pids)
                .stderr(Stdio::null())
                .status();
        }
        let data = self.data.display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A table lock held by [`PgCluster::lock_table`]; released when dropped.
pub struct TableLock {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TableLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}
