//! A storm through every role of a pipeline, with webhooks lost on the way: `syncline sim
//! storm` records every order version in the Shopify simulator and sends the webhooks,
//! signed, duplicated, out of order and some dropped, to a `syncline run` process (receiver,
//! worker and poller) over loopback, through a real redis-server into the HubSpot
//! simulator. The webhooks bring in most versions at once; the poll brings in the ones whose
//! webhook never came. At the end every order is in the CRM exactly once at its newest
//! version, and no deal was ever written back to an older one.

use std::collections::BTreeMap;

use serde_json::Value;
use syncline::connectors::crm::hubspot::mapping::ORDER_KEY;
use syncline::model::{StorePlatform, StoreRef};
use syncline::sim::hubspot::types::ObjectType;
use syncline::sim::storm::Summary;

use crate::support::hubspot::{HubspotSim, TOKEN};
use crate::support::redis::RedisServer;
use crate::support::run::SynclineRun;
use crate::support::stores::StoreSimServer;

const SECRET: &str = "storm-webhook-secret";

fn manifest(store: &str, crm: &str, redis: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: gusty, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: \"{store}\"\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: \"{crm}\"}}\n  secretRef: {{name: gusty}}\n\
         \x20 redis: {{url: \"{redis}\"}}\n  objects: [orders]\n  polling: {{interval: 10s, lookback: 10m}}\n"
    )
}

/// Order id → the deal amounts written for it, in the order the CRM applied them.
fn deal_writes(crm: &HubspotSim) -> BTreeMap<u64, Vec<f64>> {
    let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for w in crm.sim.store().writes() {
        if w.object_type != ObjectType::Deals {
            continue;
        }
        let key = if w.id_property == ORDER_KEY {
            Some(w.key.as_str())
        } else {
            w.properties.get(ORDER_KEY).map(String::as_str)
        };
        let id = key.and_then(|k| StoreRef::suffix_of(k)?.parse().ok());
        let amount = w.properties.get("amount").and_then(|a| a.parse().ok());
        if let (Some(id), Some(amount)) = (id, amount) {
            out.entry(id).or_default().push(amount);
        }
    }
    out
}

#[tokio::test]
async fn a_storm_with_dropped_webhooks_lands_every_order_once_at_its_newest_version() {
    let redis = RedisServer::start();
    let crm = HubspotSim::with_limit(1_000).await;
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    let yaml = manifest(&store.url(""), &crm.url(""), &redis.url());
    let env = [
        ("SYNCLINE_WEBHOOK_SECRET", SECRET),
        ("SYNCLINE_CRM_TOKEN", TOKEN),
        ("SYNCLINE_STORE_TOKEN", "store-token"),
    ];
    let run = SynclineRun::start(&yaml, &env, false);
    run.ready().await;
    let storm = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["sim", "storm", "--secret", SECRET, "--seed", "5"])
        .args(["--target", &run.receiver()])
        .args(["--store", &store.url(""), "--crm", &crm.url("")])
        .args(["--redis", &redis.url(), "--pipeline", "shops/gusty"])
        .args(["--profile", "40x3,120x2,40x3", "--orders", "80"])
        .args([
            "--duplicates",
            "0.1",
            "--out-of-order",
            "0.1",
            "--dropped",
            "0.15",
        ])
        .args(["--settle", "60s"])
        .output()
        .await
        .unwrap();
    drop(run);
    let progress = String::from_utf8_lossy(&storm.stderr);
    assert!(storm.status.success(), "storm: {progress}");
    let summary: Value = serde_json::from_slice(&storm.stdout).unwrap();
    assert!(
        progress.contains("| lag ")
            && progress.contains("| synced ")
            && progress.contains("CRM 429s"),
        "the live view shows the pipeline: {progress}"
    );
    assert_eq!(summary["acknowledged"], summary["sent"], "{summary}");
    assert_eq!(summary["storeErrors"], 0, "{summary}");
    assert!(summary["dropped"].as_u64().unwrap() > 0, "{summary}");

    let parsed: Summary = serde_json::from_value(summary.clone()).unwrap();
    let stored = &parsed.newest_stored;
    assert_eq!(stored.len(), 80, "every order is in the store");
    let only_polled = parsed.only_polled();
    assert!(
        !only_polled.is_empty(),
        "some orders' newest version was dropped, so only the poll could bring it"
    );
    assert_eq!(
        (
            summary["settled"]["synced"].as_u64(),
            summary["settled"]["expected"].as_u64()
        ),
        (Some(80), Some(80)),
        "{summary}"
    );

    eprintln!(
        "storm: {} sent, {} dropped, {} orders whose newest version only the poll brought, all synced {:.1} s after the last send",
        summary["sent"],
        summary["dropped"],
        only_polled.len(),
        summary["settled"]["seconds"].as_f64().unwrap_or(0.0)
    );
    let deals = crm.sim.store().objects(ObjectType::Deals);
    assert_eq!(deals.len(), 80, "one deal per order, no doubles");
    let writes = deal_writes(&crm);
    for (id, version) in stored {
        let amounts = &writes[id];
        assert_eq!(
            amounts.last().copied(),
            Some(f64::from(*version)),
            "order {id} ends at its newest version (only polled: {})",
            only_polled.contains(id)
        );
        assert!(
            amounts.windows(2).all(|w| w[0] < w[1]),
            "order {id}: no version written twice or after a newer one: {amounts:?}"
        );
    }
}
