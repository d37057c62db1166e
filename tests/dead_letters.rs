//! Dead letters against a real redis-server: the operator's one-round-trip queue sample,
//! and the `syncline dlq` binary listing, replaying and purging what workers dead-lettered.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::redis::RedisServer;
use syncline::queue::admin;
use syncline::queue::{DeadLetter, EventEnvelope, Queue, QueueKeys, QueueSettings};

/// A pipeline manifest whose spec.redis.url is unreachable: the tests pass the real URL
/// the way operators do, through the Secret's redisUrl or SYNCLINE_REDIS_URL.
const PIPELINE: &str = "\
apiVersion: syncline.dev/v1alpha1
kind: SyncPipeline
metadata: {name: acme, namespace: shops}
spec:
  store: {platform: woocommerce, url: https://shop.acme.example}
  crm: {platform: hubspot}
  secretRef: {name: acme-creds}
  redis: {url: 'redis://127.0.0.1:1'}
";

fn envelope(n: u32) -> EventEnvelope {
    EventEnvelope {
        delivery_id: format!("d-{n}"),
        platform: syncline::api::StorePlatform::WooCommerce,
        scheme: syncline::queue::Scheme::WooCommerce,
        topic: "order.updated".into(),
        object_kind: Some(syncline::api::ObjectKind::Orders),
        object_id: Some(n.to_string()),
        received_at: "2026-11-20T15:01:03Z".into(),
        body: format!("{{\"id\":{n},\"billing\":{{\"email\":\"buyer{n}@example.com\"}}}}"),
    }
}

fn queue(redis: &RedisServer) -> Queue {
    Queue::new(
        &redis.url(),
        QueueKeys::new("shops", "acme"),
        QueueSettings::default(),
    )
    .unwrap()
}

/// Enqueues `ids`, has a worker read them, and dead-letters each with `reason`.
async fn dead_letter(q: &Queue, ids: std::ops::Range<u32>, reason: &str) {
    for n in ids.clone() {
        q.enqueue(&envelope(n)).await.unwrap();
    }
    let batch = q
        .read_batch("w1", 100, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(batch.len(), ids.len());
    for entry in &batch {
        let why = DeadLetter {
            reason,
            attempts: 5,
            last_error: "HubSpot 400: Property values were not valid",
        };
        q.dead_letter(entry, why).await.unwrap();
    }
}

struct Files {
    _dir: tempfile::TempDir,
    pipeline: PathBuf,
    secret: PathBuf,
}

fn files(redis: &RedisServer) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("pipeline.yaml");
    std::fs::write(&pipeline, PIPELINE).unwrap();
    let secret = dir.path().join("secret.yaml");
    let text = format!(
        "kind: Secret\nmetadata: {{name: acme-creds}}\nstringData: {{redisUrl: '{}'}}\n",
        redis.url()
    );
    std::fs::write(&secret, text).unwrap();
    Files {
        _dir: dir,
        pipeline,
        secret,
    }
}

/// Runs `syncline dlq <args> -f <pipeline>` with extra env; (exit code, stdout, stderr).
fn dlq(pipeline: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syncline"))
        .arg("dlq")
        .args(args)
        .arg("-f")
        .arg(pipeline)
        .env_remove("SYNCLINE_REDIS_URL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

#[tokio::test]
async fn sample_reads_figures_and_the_crm_flag_in_one_go() {
    let mut redis = RedisServer::start();
    let keys = QueueKeys::new("shops", "acme");
    let timeout = Duration::from_secs(2);
    // Nothing yet: no stream, no group, no flag.
    let empty = admin::sample(&admin::RedisTarget::plain(redis.url()), &keys, timeout)
        .await
        .unwrap();
    assert_eq!(empty, admin::QueueSample::default());

    let q = queue(&redis);
    for n in 0..4 {
        q.enqueue(&envelope(n)).await.unwrap();
    }
    let read = q.read_batch("w1", 3, Duration::from_millis(100)).await;
    assert_eq!(read.unwrap().len(), 3);
    redis.cli(&["ZADD", &keys.retry(), "1", "x"]);
    redis.cli(&["SET", &keys.crm_unauthorized(), "expired token", "EX", "60"]);
    let s = admin::sample(&admin::RedisTarget::plain(redis.url()), &keys, timeout)
        .await
        .unwrap();
    assert_eq!((s.lag, s.pending, s.dead_letters, s.retries), (4, 3, 0, 1));
    assert_eq!(s.crm_unauthorized.as_deref(), Some("expired token"));

    redis.stop();
    let err = admin::sample(&admin::RedisTarget::plain(redis.url()), &keys, timeout)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn dlq_lists_replays_and_purges_by_reason_and_time() {
    let redis = RedisServer::start();
    let f = files(&redis);
    let q = queue(&redis);
    let keys = q.keys().clone();
    dead_letter(&q, 0..2, "crm_rejected").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let boundary = now_rfc3339();
    tokio::time::sleep(Duration::from_millis(50)).await;
    dead_letter(&q, 2..3, "retries_exhausted").await;
    let secrets = ["--secrets", f.secret.to_str().unwrap()];

    // The table: every dead letter, what went wrong, and no bodies.
    let (code, out, err) = dlq(&f.pipeline, &[&["list"][..], &secrets].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].contains("REASON") && lines[0].contains("DELIVERY"),
        "{out}"
    );
    for needle in [
        "crm_rejected",
        "orders/1",
        "order.updated",
        "d-2",
        "Property values",
    ] {
        assert!(out.contains(needle), "{needle} missing: {out}");
    }
    assert!(
        !out.contains("example.com"),
        "the table shows bodies: {out}"
    );

    // Filters, with the Redis URL from the environment this time.
    let env = [("SYNCLINE_REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let json = |args: &[&str]| {
        let (code, out, err) = dlq(
            &f.pipeline,
            &[&["list", "--output", "json"], args].concat(),
            &env,
        );
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
    };
    let rejected = json(&["--reason", "crm_rejected"]);
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["attempts"], 5);
    assert_eq!(rejected[0]["deliveryId"], "d-0");
    assert!(
        rejected[0]["body"]
            .as_str()
            .unwrap()
            .contains("buyer0@example.com")
    );
    let late = json(&["--since", &boundary]);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["reason"], "retries_exhausted");
    assert_eq!(json(&["--until", &boundary]).len(), 2);
    assert_eq!(json(&["--limit", "1"]).len(), 1);
    assert!(json(&["--reason", "nope"]).is_empty());

    // Usage errors say what is wrong and exit with 2.
    let (code, _, err) = dlq(&f.pipeline, &["list", "--since", "yesterday"], &env);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since") && err.contains("RFC 3339"), "{err}");
    let (code, _, err) = dlq(
        &f.pipeline,
        &[
            "list",
            "--since",
            &boundary,
            "--until",
            "2020-01-01T00:00:00Z",
        ],
        &env,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be before --until"), "{err}");
    let (code, _, err) = dlq(&f.pipeline, &["purge"], &env);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--all"), "{err}");
    assert_eq!(redis.cli(&["XLEN", &keys.dead()]).trim(), "3");

    // Without a reachable Redis the command fails with 1 and never prints the URL.
    let (code, _, err) = dlq(&f.pipeline, &["list", "--redis-timeout", "500ms"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("shops/acme") && !err.contains("127.0.0.1:1"),
        "{err}"
    );

    // Replay by reason: first deliveries again, the dead-letter bookkeeping dropped.
    let (code, out, err) = dlq(&f.pipeline, &["replay", "--reason", "crm_rejected"], &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Replayed 2 dead letters of shops/acme");
    let events = redis.stream(&keys.events());
    assert_eq!(events.len(), 2);
    for (_, fields) in &events {
        for gone in ["reason", "attempts", "last_error", "source_id"] {
            assert!(!fields.contains_key(gone), "{gone} survived the replay");
        }
        let replayed = EventEnvelope::from_fields(fields).unwrap();
        assert_eq!(
            replayed.body,
            envelope(replayed.object_id.unwrap().parse().unwrap()).body
        );
    }
    let redelivered = q
        .read_batch("w2", 10, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(redelivered.len(), 2, "workers see the replayed entries");
    assert!(redelivered.iter().all(|e| e.attempts() == 0));
    assert_eq!(redis.cli(&["XLEN", &keys.dead()]).trim(), "1");

    // Purge by time window.
    let (code, out, err) = dlq(&f.pipeline, &["purge", "--since", &boundary], &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Purged 1 dead letter of shops/acme");
    assert_eq!(redis.cli(&["XLEN", &keys.dead()]).trim(), "0");
    let (code, out, _) = dlq(&f.pipeline, &["list"], &env);
    assert_eq!((code, out.trim()), (0, "No dead letters match."));
}
