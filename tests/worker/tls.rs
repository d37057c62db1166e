use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::pipeline_yaml;
use crate::support::redis::free_port;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is missing: run scripts/deps.sh");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A redis-server serving only TLS, with a certificate for `localhost` from a fresh CA.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl TlsRedis {
    fn start(dir: &Path) -> Self {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=syncline-test-ca",
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "srv.key",
                "-out",
                "srv.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(dir.join("ext"), "subjectAltName=DNS:localhost\n").unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "srv.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "srv.pem",
                "-days",
                "2",
                "-extfile",
                "ext",
            ],
        );
        let port = free_port();
        let child = Command::new("/usr/bin/redis-server")
            .current_dir(dir)
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--tls-cert-file", "srv.pem", "--tls-key-file", "srv.key"])
            .args([
                "--tls-ca-cert-file",
                "ca.pem",
                "--tls-auth-clients",
                "no",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is missing: run scripts/deps.sh");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "TLS redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rediss://` works and verifies the server: with the CA trusted (`SSL_CERT_FILE`) the
/// pipeline's Redis answers; without it the certificate is refused, clearly.
#[test]
fn rediss_urls_connect_over_verified_tls() {
    let dir = tempfile::tempdir().unwrap();
    let redis = TlsRedis::start(dir.path());
    let url = format!("rediss://localhost:{}", redis.port);
    let manifest = dir.path().join("pipeline.yaml");
    std::fs::write(
        &manifest,
        pipeline_yaml("http://127.0.0.1:9", &url, 100, 10),
    )
    .unwrap();
    let dlq = |ca: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncline"));
        cmd.args(["dlq", "list", "-f"]).arg(&manifest);
        cmd.env_remove("SYNCLINE_REDIS_CA_CERT");
        match ca {
            Some(ca) => cmd.env("SSL_CERT_FILE", ca),
            None => cmd.env("SSL_CERT_FILE", dir.path().join("srv.csr")),
        };
        cmd.output().unwrap()
    };
    let trusted = dlq(Some(&dir.path().join("ca.pem")));
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let untrusted = dlq(None);
    assert!(!untrusted.status.success());
    let err = String::from_utf8_lossy(&untrusted.stderr).to_lowercase();
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");
}

/// A private CA given as the Secret's `redisCaCert` (env `SYNCLINE_REDIS_CA_CERT` in pods)
/// verifies the server without touching the system roots, for the roles and the operator.
#[tokio::test]
async fn a_private_ca_from_the_secret_verifies_rediss() {
    let dir = tempfile::tempdir().unwrap();
    let redis = TlsRedis::start(dir.path());
    let url = format!("rediss://localhost:{}", redis.port);
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let manifest = dir.path().join("pipeline.yaml");
    std::fs::write(
        &manifest,
        pipeline_yaml("http://127.0.0.1:9", &url, 100, 10),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["dlq", "list", "-f"])
        .arg(&manifest)
        .env("SYNCLINE_REDIS_CA_CERT", &ca)
        .env("SSL_CERT_FILE", dir.path().join("srv.csr"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The operator's side: the same CA from the Secret's data.
    use syncline::queue::admin::{RedisTarget, sample};
    let keys = syncline::queue::QueueKeys::new("shops", "acme");
    let timeout = Duration::from_secs(5);
    let with_ca = RedisTarget {
        url: url.clone(),
        tls_ca: Some(ca),
    };
    assert_eq!(sample(&with_ca, &keys, timeout).await.unwrap().lag, 0);
    let err = sample(&RedisTarget::plain(url), &keys, timeout)
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}
