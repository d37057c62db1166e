use std::time::Duration;

use crate::common::*;

/// Departed workers' consumers are pruned from the group once idle, unless they still hold
/// pending entries (those are reclaimed first).
#[tokio::test]
async fn idle_consumers_without_pending_entries_are_pruned() {
    let h = Harness::start(100_000, 100_000, 10).await;
    h.enqueue_orders(1..=2, 1).await;
    let wait = Duration::from_millis(10);
    // "holder" keeps its entry pending; "gone" finished its entry and left.
    let held = h.queue.read_batch("holder", 1, wait).await.unwrap();
    assert_eq!(held.len(), 1);
    let done = h.queue.read_batch("gone", 1, wait).await.unwrap();
    assert_eq!(done.len(), 1);
    h.queue.ack(&[done[0].id.clone()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;

    let prune = |idle| h.queue.prune_consumers(idle);
    assert_eq!(
        prune(Duration::from_secs(60)).await.unwrap(),
        0,
        "not idle long enough"
    );
    assert_eq!(prune(Duration::from_millis(100)).await.unwrap(), 1);
    let consumers = h
        .redis
        .cli(&["XINFO", "CONSUMERS", "sl:{shops/acme}:events", "workers"]);
    assert!(consumers.contains("holder"), "{consumers}");
    assert!(!consumers.contains("gone"), "{consumers}");
}
