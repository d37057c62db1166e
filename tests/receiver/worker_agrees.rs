//! The receiver and the worker agree: every delivery the receiver acknowledges, on every
//! route and platform, is an entry the worker's plan decodes and maps to CRM writes for
//! the same object. (A receiver that accepts what the worker cannot map acknowledges data
//! and then loses it: that is how bare Magento REST bodies were skipped once.)

use axum::http::{Request, StatusCode};
use syncline::config::parse_pipeline;
use syncline::queue::Entry;
use syncline::worker::plan::{PlanContext, plan};
use syncline::worker::{mapping_config, store_ref};

use crate::common::*;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SHOPIFY_CUSTOMER: &str =
    include_str!("../../src/connectors/store/fixtures/shopify_customer.json");

/// One acknowledged delivery and the object the worker must write for it.
struct Case {
    what: &'static str,
    request: Request<axum::body::Body>,
    object_key: &'static str,
}

fn shopify(topic: &str, body: &str, event: &str) -> Request<axum::body::Body> {
    let headers = with_header(
        &shopify_headers(SECRET, body, event),
        "x-shopify-topic",
        Some(topic),
    );
    post_owned("/webhooks/shopify", &headers, body.to_owned())
}

fn woo(topic: &str, body: &str, delivery: &str) -> Request<axum::body::Body> {
    let (resource, event) = topic.split_once('.').unwrap();
    let signature = sign_b64(SECRET, body.as_bytes());
    post(
        "/webhooks/woocommerce",
        &[
            ("content-type", "application/json"),
            ("x-wc-webhook-source", "https://shop.example/"),
            ("x-wc-webhook-topic", topic),
            ("x-wc-webhook-resource", resource),
            ("x-wc-webhook-event", event),
            ("x-wc-webhook-signature", &signature),
            ("x-wc-webhook-id", "12"),
            ("x-wc-webhook-delivery-id", delivery),
        ],
        body.to_owned(),
    )
}

fn magento_hmac(body: &str) -> Request<axum::body::Body> {
    let signature = hex::encode(hmac_bytes(SECRET.as_bytes(), &[body.as_bytes()]));
    post(
        "/webhooks/magento",
        &[
            ("content-type", "application/json"),
            ("x-magento-signature", &signature),
        ],
        body.to_owned(),
    )
}

fn standard(path: &str, id: &str, body: &str) -> Request<axum::body::Body> {
    let t = now();
    let signature = sign_standard(WHSEC, id, t, body.as_bytes());
    let t = t.to_string();
    post(
        path,
        &[
            ("content-type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", &t),
            ("webhook-signature", &signature),
        ],
        body.to_owned(),
    )
}

/// Sends every case to one pipeline's receiver, then plans each entry that landed in its
/// stream as the pipeline's worker would: one write for the case's object, nothing
/// skipped, deferred or dead-lettered.
async fn agree(pipeline_yaml: &str, secret: &str, cases: Vec<Case>) {
    let h = Harness::new(pipeline_yaml, secrets(&[("webhookSecret", secret)]));
    let mut wanted = Vec::new();
    for case in cases {
        let (status, _, json) = h.send(case.request).await;
        assert_eq!(status, StatusCode::OK, "{}: {json}", case.what);
        wanted.push((case.what, case.object_key));
    }
    let entries: Vec<Entry> = h
        .redis
        .stream(STREAM)
        .into_iter()
        .map(|(id, fields)| Entry { id, fields })
        .collect();
    assert_eq!(
        entries.len(),
        wanted.len(),
        "one entry per acknowledged delivery"
    );

    let spec = parse_pipeline(pipeline_yaml).unwrap().spec;
    let ctx = PlanContext {
        store: store_ref(&spec).unwrap(),
        objects: spec.objects.clone(),
        mapping: mapping_config(&spec).unwrap(),
    };
    // Each entry planned alone: two cases may carry the same object, and coalescing them
    // is the plan's business, not this contract's.
    for (entry, (what, key)) in entries.iter().zip(&wanted) {
        let planned = plan(std::slice::from_ref(entry), &ctx, jiff::Timestamp::now());
        assert!(
            planned.dead.is_empty(),
            "{what}: dead-lettered: {:?}",
            planned.dead
        );
        assert!(
            planned.done.is_empty(),
            "{what}: done without a write: {:?}",
            planned.done
        );
        assert!(
            planned.later.is_empty(),
            "{what}: deferred: {:?}",
            planned.later
        );
        let [item] = planned.items.as_slice() else {
            panic!("{what}: {} writes planned", planned.items.len());
        };
        assert_eq!(item.claim.object_key, *key, "{what}");
        assert_ne!(item.writes, Default::default(), "{what}: nothing to write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shopify_delivery_the_receiver_acknowledges_the_worker_maps() {
    let customer_update = r#"{"type":"customers/update","data":{"id":207119551,"email":"bob.norman@hostmail.com","first_name":"Bob","updated_at":"2015-05-27T18:11:24-04:00"}}"#;
    agree(
        &shopify_pipeline("acme.myshopify.com"),
        SECRET,
        vec![
            Case {
                what: "orders/create",
                request: shopify("orders/create", SHOPIFY_ORDER, "e1"),
                object_key: "orders:820982911946154508",
            },
            Case {
                what: "customers/update",
                request: shopify("customers/update", SHOPIFY_CUSTOMER, "e2"),
                object_key: "customers:207119551",
            },
        ],
    )
    .await;
    agree(
        &shopify_pipeline("acme.myshopify.com"),
        WHSEC,
        vec![Case {
            what: "standard route",
            request: standard("/webhooks/standard", "msg_1", customer_update),
            object_key: "customers:207119551",
        }],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_woocommerce_delivery_the_receiver_acknowledges_the_worker_maps() {
    agree(
        &woo_pipeline(),
        SECRET,
        vec![Case {
            what: "order.updated",
            request: woo("order.updated", WOO_ORDER, "d1"),
            object_key: "orders:727",
        }],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_magento_delivery_the_receiver_acknowledges_the_worker_maps() {
    let wrapped = format!(r#"{{"type":"orders/updated","data":{MAGENTO_ORDER}}}"#);
    agree(
        &magento_pipeline("{scheme: hmac, signatureHeader: X-Magento-Signature}"),
        SECRET,
        vec![
            Case {
                what: "wrapped event",
                request: magento_hmac(&wrapped),
                object_key: "orders:42",
            },
            Case {
                what: "bare REST body",
                request: magento_hmac(MAGENTO_ORDER),
                object_key: "orders:42",
            },
        ],
    )
    .await;
    let standard_body = format!(
        r#"{{"type":"orders/create","timestamp":"2026-11-20T15:03:10Z","data":{MAGENTO_ORDER}}}"#
    );
    agree(
        &magento_pipeline("{scheme: standard}"),
        WHSEC,
        vec![Case {
            what: "standard webhooks",
            request: standard("/webhooks/magento", "msg_m", &standard_body),
            object_key: "orders:42",
        }],
    )
    .await;
}
