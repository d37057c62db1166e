use std::time::Duration;

use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

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
    let mut child = h.spawn_doomed_worker(dir.path(), "2s");
    h.until(60, "the worker process to write", || {
        h.sim.sim.stats().writes >= 40
    })
    .await;
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

/// SIGTERM in the middle of a batch: the worker finishes and acks the batch in hand, then
/// exits cleanly; nothing is left pending, and the rest waits in the queue for others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_batch_in_hand_then_exits() {
    let h = Harness::start(100_000, 100_000, 25).await;
    h.sim.sim.set_faults(FaultConfig {
        latency_ms: 200,
        ..FaultConfig::default()
    });
    h.enqueue_orders(1..=200, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = crate::support::redis::free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let mut child = h.spawn(dir.path(), &["worker", "--listen", &listen], &[]);
    h.until(60, "the worker process to write", || {
        h.sim.sim.stats().writes >= 10
    })
    .await;
    // Its endpoint serves the worker's metrics while it runs.
    let page = syncline::tls::http_client()
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("syncline_worker_crm_request_duration_seconds"),
        "{page}"
    );
    let pending = h
        .redis
        .cli(&["XPENDING", "sl:{shops/acme}:events", "workers"]);
    assert_ne!(pending.lines().next().unwrap().trim(), "0", "not mid-batch");

    let status = terminate(&mut child).await;
    assert!(status.success(), "{status:?}");
    let pending = h
        .redis
        .cli(&["XPENDING", "sl:{shops/acme}:events", "workers"]);
    assert_eq!(pending.lines().next().unwrap().trim(), "0", "{pending}");
    let (lag, _, dead) = h.depth().await;
    assert!(lag > 0, "the rest waits for other workers");
    assert_eq!(dead, 0);
    let deals = h.objects(ObjectType::Deals, "syncline_order_key").len() as u64;
    assert_eq!(
        deals + lag,
        200,
        "every order is either written or still queued"
    );
}
