//! The real `syncline operator` binary as a child process, killed on drop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Flags for tests that watch the queue: sampling, queue status and resync every second,
/// so a change in Redis shows in status within seconds.
pub const EVERY_SECOND: [&str; 6] = [
    "--resync",
    "1s",
    "--queue-sample-interval",
    "1s",
    "--queue-status-interval",
    "1s",
];

/// A 3 s lease renewed every second, so a new leader takes over within seconds of a
/// SIGKILL.
pub const SHORT_LEASE: [&str; 4] = ["--lease-duration", "3s", "--lease-renew", "1s"];

pub struct OperatorProcess {
    child: Option<Child>,
    pub port: u16,
    pub name: String,
}

impl OperatorProcess {
    /// Starts the operator with `kubeconfig` and extra flags; its log goes to
    /// `<tmp>/<name>.log` for debugging a failed test.
    pub fn start(kubeconfig: &Path, name: &str, extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log =
            std::env::temp_dir().join(format!("syncline-test-{name}-{}.log", std::process::id()));
        let log = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_syncline"))
            .arg("operator")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(if extra.contains(&"--image") {
                &[][..]
            } else {
                &["--image", "registry.example/syncline:test"][..]
            })
            .args(["--identity", name])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,kube=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "operator {name} did not open its HTTP port"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child: Some(child),
            port,
            name: name.to_string(),
        }
    }

    /// GETs a path of the operator's HTTP endpoint: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        let code = buf
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = buf
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    /// A counter or gauge value from /metrics (summed over label sets).
    pub async fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        metric_value(&body, name)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL: no lease release, no cleanup, as when a node dies.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A metric's value in a Prometheus text exposition, summed over its label sets (0 when
/// absent).
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
