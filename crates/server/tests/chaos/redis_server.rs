//! A private `redis-server` on a free port, without persistence, that a test may freeze, kill
//! and restart on the same port (so the application's `REDIS_URL` stays right).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::gate::find_tool;
use crate::support::free_port;

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self::not_started();
        server.start_again();
        server
    }

    /// A free port where no Redis runs yet (`start_again` starts it).
    pub fn not_started() -> Self {
        Self {
            port: free_port(),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts a new, empty server on the same port (after `kill`), and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server already runs");
        let program = find_tool("redis-server").expect("redis-server is installed");
        let child = Command::new(program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        assert!(
            self.wait_until_answering(Duration::from_secs(10)),
            "redis-server answers PING"
        );
    }

    fn pid(&self) -> String {
        self.child
            .as_ref()
            .map(|child| child.id().to_string())
            .expect("redis-server runs")
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} redis-server");
    }

    /// `kill -STOP`: the port still accepts connections, nothing answers.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    pub fn thaw(&self) {
        self.signal("CONT");
    }

    /// `kill -KILL`: its data is gone (there is no persistence) and the port refuses.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True once a `PING` over plain RESP gets `+PONG`.
    pub fn wait_until_answering(&self, limit: Duration) -> bool {
        use std::io::{Read as _, Write as _};
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut reply = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A stopped process dies of SIGKILL too; CONT is for tidiness only.
            let _ = Command::new("kill").args(["-CONT", &self.pid()]).status();
        }
        self.kill();
    }
}
