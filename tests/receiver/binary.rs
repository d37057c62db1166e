//! The real `syncline receiver` binary over real HTTP, configured the way a pod is: a
//! pipeline manifest, a Secret manifest (base64 `data`), and SYNCLINE_* env vars that win.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::common::*;
use crate::support::redis::{RedisServer, free_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_signed_deliveries_and_stops_on_sigterm() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pipeline =
        shopify_pipeline("acme.myshopify.com") + &format!("  redis: {{url: '{}'}}\n", redis.url());
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).unwrap();
    let stale = "stale-secret-from-the-file";
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: acme}}\ndata:\n  webhookSecret: {}\n  crmToken: {}\n",
        STANDARD.encode(stale),
        STANDARD.encode("pat-na1-test")
    );
    std::fs::write(dir.path().join("secret.yaml"), secret).unwrap();
    let port = free_port();
    let log_path = dir.path().join("receiver.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncline"))
        .arg("receiver")
        .arg("-f")
        .arg(dir.path().join("pipeline.yaml"))
        .arg("--secrets")
        .arg(dir.path().join("secret.yaml"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("SYNCLINE_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("starting the syncline binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = syncline::tls::http_client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(resp) = client.get(format!("{base}/healthz")).send().await
            && resp.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "receiver did not come up");
        assert!(child.try_wait().unwrap().is_none(), "receiver exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let send = |secret: &str, event: &str| {
        let mut req = client
            .post(format!("{base}/webhooks/shopify"))
            .body(SHOPIFY_ORDER);
        for (k, v) in shopify_headers(secret, SHOPIFY_ORDER, event) {
            req = req.header(k, v);
        }
        req.send()
    };
    // The env secret wins over the file's.
    let resp = send(SECRET, "evt-bin").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"status":"accepted"}"#);
    let resp = send(stale, "evt-stale").await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client
        .post(format!("{base}/webhooks/woocommerce"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let entries = redis.stream(STREAM);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        field_map(&entries[0].1, "delivery_id").as_deref(),
        Some("evt-bin:orders/create")
    );
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"outcome="accepted""#), "{metrics}");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "receiver ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "receiver exited with {status}");

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("shops/acme"), "logs name the pipeline:\n{log}");
    for secret_text in [SECRET, stale, "pat-na1-test", "jon@example.com"] {
        assert!(
            !log.contains(secret_text),
            "log leaks {secret_text}:\n{log}"
        );
    }
}
