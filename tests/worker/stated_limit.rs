//! The CRM's own word on its limit: an account whose real limit (60 per 10 s) is below the
//! declared one (100 per 10 s). The workers read HubSpot's rate-limit headers, pace at the
//! lower figure for every worker of the account, and the pipeline's Redis record says so —
//! under a storm of duplicates, out-of-order updates and 429s on association calls.

use std::time::{Duration, Instant};

use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_pace_at_the_limit_hubspot_states_under_a_storm_without_stale_writes() {
    let h = Harness::start(60, 100, 20).await;
    let mut rng = fastrand::Rng::with_seed(17);
    // 150 orders, 3 versions each, 20 % re-delivered, 10 % moved later than a newer one.
    let mut events: Vec<(u64, u32)> = Vec::new();
    for minute in 1..=3 {
        for id in 1..=150u64 {
            events.push((id, minute));
        }
    }
    let distinct = events.len();
    for _ in 0..distinct / 5 {
        events.push(events[rng.usize(..distinct)]);
    }
    for _ in 0..events.len() / 10 {
        let from = rng.usize(..events.len() - 1);
        let to = rng.usize(from + 1..events.len());
        let moved = events.remove(from);
        events.insert(to, moved);
    }
    // Some association calls get a 429 after their event's upserts landed.
    h.sim.sim.set_faults(FaultConfig {
        burst_429: 3,
        only_path: "/associations/".into(),
        ..FaultConfig::default()
    });
    let started = Instant::now();
    let workers = [
        h.worker("w1", Duration::from_secs(30)),
        h.worker("w2", Duration::from_secs(30)),
    ];
    for (i, (id, minute)) in events.iter().enumerate() {
        let body = order(*id, *minute, &format!("o{id}@example.com"));
        h.enqueue(&format!("d{i}"), "orders/updated", "orders", &body)
            .await;
    }
    h.drained(180).await;
    let took = started.elapsed();
    let observed: Vec<i64> = workers
        .iter()
        .map(|w| {
            w.metrics
                .observed_limit
                .with_label_values(&["interval"])
                .get()
        })
        .collect();
    for w in workers {
        w.stop().await;
    }

    // The headers' figure was seen and published for the whole account, and recorded for
    // the pipeline's status.
    assert_eq!(observed, vec![60, 60]);
    let pace = h.redis.cli(&["GET", "sl:{test-account}:ratelimit:pace"]);
    assert!(!pace.trim().is_empty(), "no pace published");
    let limits = h.redis.cli(&["HGET", "sl:{shops/acme}:crm:limits", "max"]);
    assert_eq!(limits.trim(), "60");
    let stats = h.sim.sim.stats();
    // Pacing at the declared 100 would run into the real 60 every window.
    assert!(
        stats.rate_limited <= 1,
        "{} real 429s while pacing",
        stats.rate_limited
    );
    // Nothing lost, nothing duplicated, every deal at its newest version…
    assert!(stats.duplicates.is_empty(), "{:?}", stats.duplicates);
    assert!(h.dead_letters().await.is_empty());
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert_eq!(deals.len(), 150);
    for id in 1..=150u64 {
        assert_eq!(
            deals[&deal_key(id)].properties["amount"],
            "3.00",
            "order {id}"
        );
    }
    // …and no deal ever received a version older than one it already had.
    let writes_per_deal = assert_deals_never_went_back(&h);
    let rewrites = writes_per_deal
        .values()
        .map(|n| n.saturating_sub(3))
        .sum::<u32>();
    let window_share = stats.requests as f64 / (60.0 * took.as_secs_f64() / 10.0).max(1.0);
    eprintln!(
        "{} requests in {took:?} ({:.0} % of the real limit), {} real 429s, {} forced, {rewrites} deal rewrites beyond one per version",
        stats.requests,
        window_share * 100.0,
        stats.rate_limited,
        stats.forced_429
    );
}
