use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;
use crate::support::hubspot::TOKEN;

/// A worker process killed with SIGKILL in the middle of a batch: its pending entries are
/// taken over by another worker after the visibility timeout, and every event lands once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_and_duplicates_nothing() {
    let h = Harness::start(100_000, 100_000, 25).await;
    // Slow CRM calls, so the kill lands while a batch is in flight.
    h.sim.sim.set_faults(FaultConfig {
        latency_ms: 150,
        ..FaultConfig::default()
    });
    h.enqueue_orders(1..=300, 1).await;
    h.enqueue_orders(1..=300, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pipeline.yaml");
    std::fs::write(
        &manifest,
        pipeline_yaml(&h.sim.url(""), &h.redis.url(), 100_000, 25),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["worker", "-f"])
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0", "--consumer", "doomed"])
        // Its object locks expire with the same visibility timeout as its pending entries.
        .args(["--visibility-timeout", "2s"])
        .env("SYNCLINE_CRM_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.sim.sim.stats().writes < 40 {
        assert!(
            Instant::now() < deadline,
            "the worker process wrote nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let pending = h
        .redis
        .cli(&["XPENDING", "sl:{shops/acme}:events", "workers"]);
    let in_flight: u64 = pending.lines().next().unwrap().trim().parse().unwrap();
    assert!(
        in_flight > 0,
        "killed between batches, not mid-batch: {pending}"
    );

    h.sim.sim.set_faults(FaultConfig::default());
    let survivor = h.worker("survivor", Duration::from_secs(2));
    h.drained(90).await;
    survivor.stop().await;

    let stats = h.sim.sim.stats();
    assert!(stats.duplicates.is_empty(), "{:?}", stats.duplicates);
    assert!(h.dead_letters().await.is_empty());
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert_eq!(deals.len(), 300);
    for id in 1..=300u64 {
        assert_eq!(
            deals[&deal_key(id)].properties["amount"],
            "2.00",
            "order {id}"
        );
    }
    assert_eq!(h.objects(ObjectType::Contacts, "email").len(), 300);
    assert_eq!(
        h.redis
            .cli(&["XPENDING", "sl:{shops/acme}:events", "workers"])
            .lines()
            .next()
            .unwrap()
            .trim(),
        "0"
    );
}
