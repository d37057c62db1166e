//! `syncline run` (every role of one pipeline in one process) as a child process on free
//! loopback ports, stopped when dropped: what the end-to-end tests and benchmarks feed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SynclineRun {
    child: Child,
    pub port: u16,
    pub worker_port: u16,
    _dir: tempfile::TempDir,
}

impl SynclineRun {
    /// Starts `syncline run -f <yaml>` with `env` (the Secret's keys as `SYNCLINE_*`); its
    /// log goes to stderr when `log` is set.
    pub fn start(yaml: &str, env: &[(&str, &str)], log: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("pipeline.yaml");
        std::fs::write(&manifest, yaml).unwrap();
        let free_port = || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let (port, worker_port) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_syncline"))
            .arg("run")
            .arg("-f")
            .arg(&manifest)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--worker-listen", &format!("127.0.0.1:{worker_port}")])
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(if log { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("starting syncline run");
        Self {
            child,
            port,
            worker_port,
            _dir: dir,
        }
    }

    /// The receiver's base URL.
    pub fn receiver(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A URL on the worker's HTTP port (`/metrics`, `/readyz`).
    pub fn worker(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.worker_port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to 30 s) until the worker answers `/readyz` with 200.
    pub async fn ready(&self) {
        let client = syncline::tls::http_client();
        let up = Instant::now();
        while !client
            .get(self.worker("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(
                up.elapsed() < Duration::from_secs(30),
                "syncline run is not ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SynclineRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
