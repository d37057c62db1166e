use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::model::StorePlatform;
use crate::queue::{EventEnvelope, Scheme};

const ORDER: &str = include_str!("../../connectors/store/fixtures/shopify_order.json");

fn ctx() -> PlanContext {
    PlanContext {
        store: StoreRef::new(StorePlatform::Shopify, "acme.myshopify.com"),
        objects: vec![
            ObjectKind::Customers,
            ObjectKind::Orders,
            ObjectKind::Products,
            ObjectKind::Carts,
        ],
        mapping: MappingConfig::default(),
    }
}

fn entry(id: &str, topic: &str, kind: Option<&str>, body: &str) -> Entry {
    let envelope = EventEnvelope {
        delivery_id: format!("d-{id}"),
        platform: StorePlatform::Shopify,
        scheme: Scheme::Shopify,
        topic: topic.into(),
        object_kind: kind.map(|k| ObjectKind::parse(k).unwrap()),
        object_id: None,
        received_at: "2026-11-20T15:01:03Z".into(),
        body: body.into(),
    };
    Entry {
        id: id.into(),
        fields: envelope
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect::<HashMap<_, _>>(),
    }
}

/// The contracts doc's order, at another `updated_at` and total.
fn order_version(updated_at: &str, total: &str) -> String {
    let mut order: Value = serde_json::from_str(ORDER).unwrap();
    order["updated_at"] = json!(updated_at);
    order["total_price"] = json!(total);
    order.to_string()
}

fn now() -> Timestamp {
    "2026-11-21T00:00:00Z".parse().unwrap()
}

#[test]
fn the_newest_version_of_an_object_wins_whatever_the_arrival_order() {
    let entries = [
        entry(
            "1-0",
            "orders/updated",
            Some("orders"),
            &order_version("2026-11-20T10:05:00-05:00", "2.00"),
        ),
        entry(
            "2-0",
            "orders/updated",
            Some("orders"),
            &order_version("2026-11-20T10:09:00-05:00", "3.00"),
        ),
        entry(
            "3-0",
            "orders/create",
            Some("orders"),
            &order_version("2026-11-20T10:01:02-05:00", "1.00"),
        ),
    ];
    let plan = plan(&entries, &ctx(), now());
    assert_eq!(plan.items.len(), 1);
    let item = &plan.items[0];
    assert_eq!(item.entry, 1);
    assert_eq!(item.claim.object_key, "orders:820982911946154508");
    assert_eq!(
        item.claim.version,
        "2026-11-20T15:09:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond()
    );
    let deal = &item.writes.upserts[0];
    assert_eq!(deal.properties["amount"], "3.00");
    let mut done = plan.done.clone();
    done.sort();
    assert_eq!(done, vec![(0, Done::Coalesced), (2, Done::Coalesced)]);
    assert!(plan.dead.is_empty() && plan.later.is_empty());
}

#[test]
fn equal_timestamps_go_to_the_later_stream_entry() {
    let v = "2026-11-20T10:05:00-05:00";
    let entries = [
        entry(
            "5-1",
            "orders/updated",
            Some("orders"),
            &order_version(v, "9.00"),
        ),
        entry(
            "5-0",
            "orders/updated",
            Some("orders"),
            &order_version(v, "8.00"),
        ),
    ];
    let plan = plan(&entries, &ctx(), now());
    assert_eq!(plan.items[0].entry, 0);
    assert_eq!(plan.done, vec![(1, Done::Coalesced)]);
}

#[test]
fn the_digest_tells_content_apart_within_one_version() {
    let v = "2026-11-20T10:05:00-05:00";
    let a = plan(
        &[entry(
            "1-0",
            "orders/updated",
            Some("orders"),
            &order_version(v, "1.00"),
        )],
        &ctx(),
        now(),
    );
    let b = plan(
        &[entry(
            "2-0",
            "orders/updated",
            Some("orders"),
            &order_version(v, "2.00"),
        )],
        &ctx(),
        now(),
    );
    let a2 = plan(
        &[entry(
            "3-0",
            "orders/paid",
            Some("orders"),
            &order_version(v, "1.00"),
        )],
        &ctx(),
        now(),
    );
    assert_eq!(a.items[0].claim.version, b.items[0].claim.version);
    assert_ne!(a.items[0].claim.digest, b.items[0].claim.digest);
    assert_eq!(a.items[0].claim.digest, a2.items[0].claim.digest);
}

#[test]
fn broken_entries_become_dead_letters_with_a_reason() {
    let mut no_version = entry("1-0", "orders/create", Some("orders"), "{}");
    no_version.fields.remove("v");
    let entries = [
        no_version,
        entry("2-0", "orders/create", Some("orders"), "{not json"),
        entry("3-0", "orders/create", Some("orders"), r#"{"id":1}"#),
        entry(
            "4-0",
            "customers/create",
            Some("customers"),
            r#"{"id":7,"updated_at":"2026-11-20T10:01:02-05:00","first_name":"No","last_name":"Mail"}"#,
        ),
    ];
    let plan = plan(&entries, &ctx(), now());
    let reasons: Vec<_> = plan.dead.iter().map(|d| (d.entry, d.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (0, "envelope_invalid"),
            (1, "body_invalid"),
            (2, "payload_unmapped"),
            (3, "unmappable")
        ]
    );
    assert!(plan.dead.iter().all(|d| !d.error.is_empty()));
    assert!(plan.items.is_empty());
}

#[test]
fn deletions_and_unsynced_kinds_are_skipped_an_unknown_object_is_a_dead_letter() {
    let mut only_orders = ctx();
    only_orders.objects = vec![ObjectKind::Orders];
    let entries = [
        entry("1-0", "orders/delete", Some("orders"), r#"{"id":1}"#),
        entry("2-0", "app/uninstalled", None, "{}"),
        entry("3-0", "products/update", Some("products"), r#"{"id":1}"#),
    ];
    let plan = plan(&entries, &only_orders, now());
    assert_eq!(
        plan.done,
        vec![
            (0, Done::Skipped("deletion_not_synced")),
            (2, Done::Skipped("object_not_synced"))
        ]
    );
    // Acknowledged by something that named no object: never skipped silently.
    assert_eq!(plan.dead.len(), 1);
    assert_eq!(
        (plan.dead[0].entry, plan.dead[0].reason),
        (1, "payload_unmapped")
    );
    assert!(plan.dead[0].error.contains("app/uninstalled"));
}

#[test]
fn a_shopify_standard_webhooks_body_is_unwrapped() {
    let order = json!({"id": 5, "name": "#5", "email": "s@example.com", "currency": "USD",
        "total_price": "1.00", "financial_status": "paid",
        "created_at": "2026-11-20T10:01:02-05:00", "updated_at": "2026-11-20T10:01:02-05:00",
        "line_items": []});
    let body = json!({"type": "orders/create", "timestamp": "2026-11-20T15:01:03Z", "data": order});
    let plan = plan(
        &[entry(
            "1-0",
            "orders/create",
            Some("orders"),
            &body.to_string(),
        )],
        &ctx(),
        now(),
    );
    assert!(plan.dead.is_empty(), "{:?}", plan.dead);
    assert_eq!(plan.items.len(), 1);
    assert_eq!(plan.items[0].claim.object_key, "orders:5");
}

#[test]
fn a_fresh_checkout_waits_until_it_counts_as_abandoned() {
    let body = json!({"id": 981, "token": "t", "email": "cart@example.com", "currency": "USD",
        "total_price": "5.00", "created_at": "2026-11-20T23:30:00Z", "updated_at": "2026-11-20T23:30:00Z",
        "completed_at": null, "line_items": []});
    let plan = plan(
        &[entry(
            "1-0",
            "checkouts/update",
            Some("carts"),
            &body.to_string(),
        )],
        &ctx(),
        now(),
    );
    let due = "2026-11-21T00:30:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_millisecond();
    assert_eq!(plan.later, vec![(0, due)]);
    assert!(plan.items.is_empty());
}

#[test]
fn events_of_another_platform_are_refused() {
    let mut e = entry("1-0", "order.updated", Some("orders"), "{}");
    e.fields.insert("platform".into(), b"woocommerce".to_vec());
    let plan = plan(&[e], &ctx(), now());
    assert_eq!(plan.dead[0].reason, "envelope_invalid");
}
