//! Partial failures (guarantee 3): an event whose upserts landed but whose later steps
//! failed — a 429 on an association, a crash between the steps, one refused input of a
//! 207 — never lets an older version overwrite what landed, retries only what is missing,
//! and holds its neighbours to nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

/// Per object key, the versions (deal amounts) in the order the CRM received them.
fn deal_amounts(h: &Harness) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in h.sim.sim.store().writes() {
        if let Some(amount) = w.properties.get("amount") {
            out.entry(w.key.clone()).or_default().push(amount.clone());
        }
    }
    out
}

fn line_item_deal_links(h: &Harness) -> usize {
    h.sim
        .sim
        .store()
        .associations()
        .iter()
        .filter(|a| a.from_type == ObjectType::LineItems && a.to_type == ObjectType::Deals)
        .count()
}

fn deal_contact_links(h: &Harness) -> usize {
    h.sim
        .sim
        .store()
        .associations()
        .iter()
        .filter(|a| a.from_type == ObjectType::Deals && a.to_type == ObjectType::Contacts)
        .count()
}

fn retried(w: &Worker, call: &str) -> u64 {
    w.metrics.retried_inputs.with_label_values(&[call]).get()
}

/// The scenario of the issue: the deal upsert of version 5 lands, then the association
/// call gets a 429. While version 5 waits for its retry, version 3 of the same order
/// arrives (out of order). Version 3 is dropped, the retry sends the associations alone,
/// and the deal is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_an_association_never_lets_an_older_version_overwrite_the_deal() {
    let h = Harness::start(100_000, 100_000, 10).await;
    h.sim.sim.set_faults(FaultConfig {
        burst_429: 1,
        retry_after_secs: 5,
        only_path: "/associations/".into(),
        ..FaultConfig::default()
    });
    let worker = h.worker("w1", Duration::from_secs(30));
    h.enqueue_orders(1..=1, 5).await;
    h.until(20, "version 5's deal to land", || {
        deal_amounts(&h).contains_key(&deal_key(1))
    })
    .await;
    h.until(20, "the 429 on version 5's first association", || {
        h.sim.sim.stats().forced_429 >= 1
    })
    .await;
    assert_eq!(
        deal_contact_links(&h),
        0,
        "version 5 is waiting for its retry"
    );
    // The older version, delivered late, while the newer one is still in the retry set.
    h.enqueue_orders(1..=1, 3).await;
    h.drained(30).await;
    worker.stop().await;

    let amounts = deal_amounts(&h);
    assert_eq!(
        amounts[&deal_key(1)],
        vec!["5.00".to_string()],
        "the deal got exactly one write, of the newest version"
    );
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert_eq!(deals[&deal_key(1)].properties["amount"], "5.00");
    assert_eq!(
        line_item_deal_links(&h),
        1,
        "the retry created the association"
    );
    assert!(h.dead_letters().await.is_empty());
}

/// Retries send only what is missing: after 429s on associations, the upserts that landed
/// are not sent again (the budget a retry spends is counted per call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_landed_upserts_sends_the_associations_alone() {
    let h = Harness::start(100_000, 100_000, 50).await;
    h.sim.sim.set_faults(FaultConfig {
        burst_429: 2,
        retry_after_secs: 1,
        only_path: "/associations/".into(),
        ..FaultConfig::default()
    });
    // All 40 in the first batch: both association calls of it get a 429.
    h.enqueue_orders(1..=40, 2).await;
    let worker = h.worker("w1", Duration::from_secs(30));
    h.drained(40).await;
    let upserts_again = retried(&worker, "upsert");
    let links_again = retried(&worker, "associate");
    worker.stop().await;

    let amounts = deal_amounts(&h);
    assert_eq!(amounts.len(), 40);
    for (key, writes) in &amounts {
        assert_eq!(writes, &vec!["2.00".to_string()], "{key} rewritten");
    }
    let contact_writes = h
        .sim
        .sim
        .store()
        .writes()
        .iter()
        .filter(|w| w.object_type == ObjectType::Contacts)
        .count();
    assert_eq!(contact_writes, 40, "contacts were not upserted again");
    assert_eq!(line_item_deal_links(&h), 40);
    assert_eq!(upserts_again, 0);
    // Every request named syncline and its version.
    assert_eq!(
        h.sim.sim.stats().user_agents,
        vec![format!("syncline/{}", env!("CARGO_PKG_VERSION"))]
    );
    // Each of the 40 events sent its two associations again, nothing else.
    assert_eq!(links_again, 80);
    assert!(h.sim.sim.stats().duplicates.is_empty());
}

/// One input of a batch of 100 refused in a 207: only its event fails (dead-lettered with
/// HubSpot's message); the other 99 are written, committed and acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_input_of_a_207_fails_only_its_own_event() {
    let h = Harness::start(100_000, 100_000, 100).await;
    for id in 1..=100u64 {
        let email = if id == 37 {
            "not-an-email".to_string()
        } else {
            format!("o{id}@example.com")
        };
        let body = order(id, 1, &email);
        h.enqueue(&format!("o{id}"), "orders/create", "orders", &body)
            .await;
    }
    let worker = h.worker("w1", Duration::from_secs(30));
    h.until(30, "the batch to settle", || {
        h.objects(ObjectType::Deals, "syncline_order_key").len() >= 99
    })
    .await;
    h.drained(30).await;
    worker.stop().await;

    let upsert_calls = h
        .sim
        .sim
        .store()
        .writes()
        .iter()
        .filter(|w| w.object_type == ObjectType::Deals)
        .count();
    assert_eq!(upsert_calls, 99, "each of the 99 deals written once");
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert!(!deals.contains_key(&deal_key(37)));
    let dead = h.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].text("delivery_id").as_deref(), Some("o37"));
    assert_eq!(dead[0].text("reason").as_deref(), Some("crm_rejected"));
    // The 99 are committed: the same versions again are dropped without a CRM write.
    let before = h.sim.sim.stats().writes;
    h.enqueue_orders(1..=36, 1).await;
    let again = h.worker("w2", Duration::from_secs(30));
    h.drained(30).await;
    again.stop().await;
    assert_eq!(
        h.sim.sim.stats().writes,
        before,
        "committed versions were written again"
    );
}

/// A worker process killed (SIGKILL) after its deal upsert landed and while its
/// association call hangs: an older version arriving in between is dropped, and after
/// recovery the association exists and the deal never went back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_upsert_and_association_writes_no_older_version() {
    let h = Harness::start(100_000, 100_000, 10).await;
    h.sim.sim.set_faults(FaultConfig {
        latency_ms: 20_000,
        only_path: "/associations/".into(),
        ..FaultConfig::default()
    });
    h.enqueue_orders(1..=3, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = h.spawn_doomed_worker(dir.path(), "3s");
    h.until(30, "the deals to land", || deal_amounts(&h).len() == 3)
        .await;
    child.kill().unwrap();
    child.wait().unwrap();
    h.sim.sim.set_faults(FaultConfig::default());
    // Older versions, delivered while the crashed worker's entries are still pending.
    h.enqueue_orders(1..=3, 2).await;
    let survivor = h.worker("survivor", Duration::from_secs(3));
    h.drained(60).await;
    survivor.stop().await;

    for (key, writes) in deal_amounts(&h) {
        assert!(
            writes.iter().all(|a| a == "5.00"),
            "{key} received an older version: {writes:?}"
        );
    }
    assert_eq!(line_item_deal_links(&h), 3);
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert_eq!(deals.len(), 3);
    assert!(h.dead_letters().await.is_empty());
    assert!(h.sim.sim.stats().duplicates.is_empty());
}

/// With products synced, a line item points at its product's HubSpot id (`hs_product_id`),
/// whether the product was written in an earlier batch or is looked up by its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_items_point_at_their_products() {
    let h = Harness::start(100_000, 100_000, 10).await;
    let product = serde_json::json!({"id": 632910392u64, "title": "IPod Nano - 8GB",
        "updated_at": stamp(1),
        "variants": [{"id": 808950810u64, "sku": "IPOD2008PINK", "price": "199.00"}]});
    h.enqueue("p1", "products/update", "products", &product)
        .await;
    let first = h.worker("w1", Duration::from_secs(30));
    h.drained(20).await;
    first.stop().await;
    let products = h.objects(ObjectType::Products, "syncline_product_key");
    let product_id = products["shopify:acme.myshopify.com:sku:IPOD2008PINK"]
        .id
        .clone();
    // A fresh worker (empty cache) looks the product up by its key.
    h.enqueue_orders(1..=2, 1).await;
    let second = h.worker("w2", Duration::from_secs(30));
    h.drained(20).await;
    second.stop().await;
    let items = h.objects(ObjectType::LineItems, "syncline_line_item_key");
    assert_eq!(items.len(), 2);
    for item in items.values() {
        assert_eq!(item.properties.get("hs_product_id"), Some(&product_id));
    }

    // A product HubSpot does not have: looked up once, then not again for a while, so
    // the next order costs its five writes and no lookup; its line item stays unlinked.
    let third = h.worker("w3", Duration::from_secs(30));
    let unknown_product = |id: u64| {
        let mut o = order(id, 1, &format!("o{id}@example.com"));
        o["line_items"][0]["sku"] = serde_json::json!("NOT-IN-HUBSPOT");
        o
    };
    h.enqueue("u1", "orders/create", "orders", &unknown_product(11))
        .await;
    h.drained(20).await;
    let before = h.sim.sim.stats().requests;
    h.enqueue("u2", "orders/create", "orders", &unknown_product(12))
        .await;
    h.drained(20).await;
    third.stop().await;
    assert_eq!(h.sim.sim.stats().requests - before, 5, "a lookup repeated");
    let items = h.objects(ObjectType::LineItems, "syncline_line_item_key");
    assert!(
        !items["shopify:acme.myshopify.com:12:120"]
            .properties
            .contains_key("hs_product_id")
    );
}
