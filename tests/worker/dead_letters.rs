use std::time::Duration;

use serde_json::json;
use syncline::queue::DeadLetterFilter;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

/// The CRM loses syncline's custom properties (an admin deleted them): every order fails
/// validation and becomes a dead letter with the reason and HubSpot's message, as does a
/// customer with an invalid email. A restarted worker recreates the properties; replaying
/// the dead letters lands the orders, and the invalid customer is dead again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_are_dead_lettered_and_land_after_fix_and_replay() {
    let h = Harness::start(100_000, 100_000, 50).await;
    let first = h.worker("first", Duration::from_secs(30));
    h.until(20, "bootstrap", || h.bootstrapped()).await;
    h.sim.sim.reset();
    h.enqueue_orders(1..=20, 3).await;
    let mut bad = customer(77, 1);
    bad["email"] = json!("not-an-email");
    h.enqueue("c77", "customers/create", "customers", &bad)
        .await;

    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = h.dead_letters().await;
        if dead.len() == 21 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 21, "dead letters: {dead:?}");
    assert_eq!(h.depth().await.0, 0, "dead-lettered entries are acked");
    for d in &dead {
        assert_eq!(d.text("reason").as_deref(), Some("crm_rejected"));
        assert_eq!(d.text("attempts").as_deref(), Some("1"));
        let error = d.text("last_error").unwrap();
        if d.text("delivery_id").as_deref() == Some("c77") {
            assert!(error.contains("not-an-email is invalid"), "{error}");
        } else {
            assert!(error.contains("syncline_order_key"), "{error}");
        }
    }
    assert_eq!(
        first
            .metrics
            .dead_letters
            .with_label_values(&["crm_rejected"])
            .get(),
        21
    );
    first.stop().await;

    // The fix: a restarted worker bootstraps the properties again.
    let second = h.worker("second", Duration::from_secs(30));
    h.until(20, "bootstrap", || h.bootstrapped()).await;
    let filter = DeadLetterFilter {
        reason: Some("crm_rejected".into()),
        ..Default::default()
    };
    assert_eq!(h.queue.replay_dead_letters(&filter).await.unwrap(), 21);
    h.drained(30).await;
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = h.dead_letters().await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].text("delivery_id").as_deref(), Some("c77"));
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    assert_eq!(deals.len(), 20);
    assert!(deals.values().all(|d| d.properties["amount"] == "3.00"));
    assert!(h.sim.sim.stats().duplicates.is_empty());
}

/// A refused token: the worker reports it for the CrmUnauthorized condition and consumes
/// nothing (events wait in the queue); a worker with the right token drains the queue and
/// clears the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_reported_and_nothing_is_consumed() {
    let h = Harness::start(100_000, 100_000, 50).await;
    h.enqueue_orders(1..=5, 1).await;
    let mut wrong = h.config.clone();
    wrong.secrets.insert("crmToken", "pat-na1-revoked");
    let refused = h.worker_with(&wrong, "refused", Duration::from_secs(30));
    let key = "sl:{shops/acme}:crm:unauthorized";
    h.until(20, "the unauthorized mark", || {
        !h.redis.cli(&["GET", key]).trim().is_empty()
    })
    .await;
    assert!(h.redis.cli(&["GET", key]).contains("401"));
    assert_eq!(h.depth().await, (5, 0, 0), "nothing consumed, nothing dead");
    refused.stop().await;

    let good = h.worker("good", Duration::from_secs(30));
    h.drained(30).await;
    good.stop().await;
    assert_eq!(h.objects(ObjectType::Deals, "syncline_order_key").len(), 5);
    assert_eq!(h.redis.cli(&["EXISTS", key]).trim(), "0");
}
