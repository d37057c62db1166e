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

/// A 429 with Retry-After pauses every worker of the account for that long; the events are
/// retried (no attempt spent) and land; nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_all_workers_for_retry_after() {
    let h = Harness::start(100_000, 100_000, 10).await;
    let workers: Vec<_> = (1..=2)
        .map(|n| h.worker(&format!("w{n}"), Duration::from_secs(60)))
        .collect();
    h.until(20, "bootstrap", || h.bootstrapped()).await;
    h.sim.sim.set_faults(FaultConfig {
        burst_429: 1,
        retry_after_secs: 2,
        ..FaultConfig::default()
    });
    let started = Instant::now();
    h.enqueue_orders(1..=40, 1).await;
    h.drained(60).await;
    let took = started.elapsed();
    let stats = h.sim.sim.stats();
    let seen_429: u64 = workers.iter().map(|w| w.metrics.crm_429.get()).sum();
    for w in workers {
        w.stop().await;
    }
    assert_eq!(stats.forced_429, 1);
    assert_eq!(seen_429, 1);
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After not honoured: {took:?}"
    );
    assert!(h.dead_letters().await.is_empty());
    assert_eq!(h.objects(ObjectType::Deals, "syncline_order_key").len(), 40);
}

/// An open checkout becomes an abandoned-checkout deal once `abandonedAfter` has passed
/// since its last update, and not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_checkout_becomes_a_deal_after_the_abandon_delay() {
    let mut h = Harness::start(100_000, 100_000, 10).await;
    let spec = &mut h.config.pipeline.spec;
    spec.objects.push(syncline::api::ObjectKind::Carts);
    spec.crm.hubspot.abandoned_after = "3s".into();
    spec.crm.hubspot.abandoned_stage = "checkout_abandoned".into();
    let now = jiff::Timestamp::now().to_string();
    let checkout = serde_json::json!({"id": 981, "token": "t981", "email": "cart@example.com",
        "currency": "USD", "total_price": "5.00", "created_at": now, "updated_at": now,
        "completed_at": null, "abandoned_checkout_url": "https://acme.example/recover",
        "line_items": [{"id": 1, "product_id": 2, "variant_id": 3, "sku": "S-1",
                        "title": "Socks", "quantity": 1, "price": "5.00"}]});
    h.enqueue("k1", "checkouts/create", "carts", &checkout)
        .await;
    let worker = h.worker("w", Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.objects(ObjectType::Deals, "syncline_order_key")
            .is_empty(),
        "written too early"
    );
    h.drained(30).await;
    worker.stop().await;
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    let deal = &deals["shopify:acme.myshopify.com:checkout:981"];
    assert_eq!(deal.properties["dealstage"], "checkout_abandoned");
    assert_eq!(deal.properties["amount"], "5.00");
}
