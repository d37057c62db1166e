use std::time::{Duration, Instant};

use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

/// Four workers share a 100-requests-per-10-seconds account: the shared budget keeps every
/// one of them under the limit, so HubSpot never answers 429, and everything lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_share_the_budget_without_a_single_429() {
    let h = Harness::start(100, 100, 10).await;
    h.enqueue_orders(1..=300, 1).await;
    let started = Instant::now();
    let workers: Vec<_> = (1..=4)
        .map(|n| h.worker(&format!("w{n}"), Duration::from_secs(60)))
        .collect();
    h.drained(120).await;
    let took = started.elapsed();
    for w in workers {
        w.stop().await;
    }
    let stats = h.sim.sim.stats();
    assert_eq!(stats.rate_limited, 0, "HubSpot answered 429: {stats:?}");
    assert_eq!(
        h.objects(ObjectType::Deals, "syncline_order_key").len(),
        300
    );
    // More than one window's budget was needed, so the limit was really exercised.
    assert!(stats.requests > 100, "{} requests", stats.requests);
    eprintln!("{} CRM requests in {took:?}", stats.requests);
}

/// A 60-second CRM outage: nothing is dead-lettered, and everything lands after it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sixty_second_outage_delays_but_dead_letters_nothing() {
    let h = Harness::start(100_000, 100_000, 20).await;
    let worker = h.worker("w", Duration::from_secs(30));
    h.until(20, "bootstrap", || h.bootstrapped()).await;
    h.sim.sim.set_faults(FaultConfig {
        outage_ms: 60_000,
        ..FaultConfig::default()
    });
    let outage_started = Instant::now();
    h.enqueue_orders(1..=100, 1).await;
    // During the outage: retried, never dead-lettered.
    tokio::time::sleep(Duration::from_secs(50)).await;
    assert!(
        h.objects(ObjectType::Deals, "syncline_order_key")
            .is_empty()
    );
    assert!(h.sim.sim.stats().outage_rejections > 0);
    assert!(h.dead_letters().await.is_empty());
    h.drained(120).await;
    assert!(outage_started.elapsed() >= Duration::from_secs(60));
    worker.stop().await;
    assert!(h.dead_letters().await.is_empty());
    assert_eq!(
        h.objects(ObjectType::Deals, "syncline_order_key").len(),
        100
    );
    assert!(h.sim.sim.stats().duplicates.is_empty());
}
