//! `syncline worker` runs the poller: one in-process worker (the code path of the
//! subcommand) takes the lease, polls the store simulator and writes what it found to the
//! HubSpot simulator, and its /metrics shows `syncline_poller_*`.

use std::time::{Duration, Instant};

use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::model::{ObjectKind, StorePlatform};
use syncline::sim::hubspot::types::ObjectType;
use syncline::worker::WorkerSettings;

use crate::support::hubspot::{HubspotSim, TOKEN};
use crate::support::redis::{RedisServer, free_port};
use crate::support::stores::StoreSimServer;

#[tokio::test]
async fn a_worker_takes_the_poller_lease_and_its_poll_reaches_the_crm() {
    let redis = RedisServer::start();
    let crm = HubspotSim::with_limit(1_000).await;
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    // Changed in the store with no webhook at all: only the poll can find them.
    store.sim.mutate(ObjectKind::Orders, &[1, 2, 3], None);
    let yaml = format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: \"{}\"\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: \"{}\"}}\n  secretRef: {{name: acme}}\n\
         \x20 redis: {{url: \"{}\"}}\n  objects: [orders, customers]\n  polling: {{interval: 10s, lookback: 10m}}\n",
        store.url(""),
        crm.url(""),
        redis.url()
    );
    let (worker, port) = start_worker(&yaml, &[("storeToken", "store-token")]);
    wait_for(&crm, ObjectType::Deals, 3).await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let response = syncline::tls::http_client().get(url).send().await.unwrap();
    let metrics = response.text().await.unwrap();
    assert!(metrics.contains("syncline_poller_leader 1"), "{metrics}");
    assert!(metrics.contains("syncline_poller_objects_total{mode=\"poll\",object=\"orders\"} 3"));
    worker.abort();
}

/// An in-process `syncline worker` for `yaml` with the CRM token and `store` credentials:
/// its task and the port of its /metrics.
fn start_worker(
    yaml: &str,
    store: &[(&str, &str)],
) -> (
    tokio::task::JoinHandle<Result<(), syncline::worker::WorkerError>>,
    u16,
) {
    let mut secrets = SecretValues::default();
    secrets.insert("crmToken", TOKEN);
    for (k, v) in store {
        secrets.insert(*k, *v);
    }
    let config = PipelineConfig {
        pipeline: parse_pipeline(yaml).unwrap(),
        secrets,
    };
    let port = free_port();
    let settings = WorkerSettings {
        listen: ([127, 0, 0, 1], port).into(),
        block: Duration::from_millis(200),
        ..WorkerSettings::default()
    };
    (tokio::spawn(syncline::worker::run(config, settings)), port)
}

/// Waits until `n` objects of `t` are in the CRM.
async fn wait_for(crm: &HubspotSim, t: ObjectType, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = crm.sim.store().objects(t).len();
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{have} of {n} {t:?} reached the CRM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_woocommerce_poll_over_http_signs_with_oauth_and_names_arrive_decoded() {
    let redis = RedisServer::start();
    let crm = HubspotSim::with_limit(1_000).await;
    let store = StoreSimServer::of(StorePlatform::WooCommerce).await;
    store.sim.mutate(ObjectKind::Orders, &[1, 2], None);
    store.sim.mutate(ObjectKind::Products, &[23], None);
    // An http:// store: WooCommerce ignores Basic there, so only a signature gets in.
    let yaml = format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: corner, namespace: shops}}\n\
         spec:\n  store: {{platform: woocommerce, url: \"{}\"}}\n\
         \x20 crm: {{platform: hubspot, url: \"{}\"}}\n  secretRef: {{name: corner}}\n\
         \x20 redis: {{url: \"{}\"}}\n  objects: [orders, products]\n  polling: {{interval: 10s, lookback: 10m}}\n",
        store.url(""),
        crm.url(""),
        redis.url()
    );
    let store_keys = [
        ("storeConsumerKey", "ck_test"),
        ("storeConsumerSecret", "cs_test"),
    ];
    let (worker, _) = start_worker(&yaml, &store_keys);
    wait_for(&crm, ObjectType::Deals, 2).await;
    wait_for(&crm, ObjectType::Products, 1).await;
    wait_for(&crm, ObjectType::LineItems, 2).await;
    worker.abort();
    let stats = store.sim.stats();
    assert_eq!(stats.unauthorized, 0, "every signed request was accepted");
    let names = |t: ObjectType| -> Vec<String> {
        let objects = crm.sim.store().objects(t);
        objects
            .iter()
            .filter_map(|o| o.properties.get("name").cloned())
            .collect()
    };
    assert_eq!(names(ObjectType::Products), ["Product 23 – v1"]);
    let items = names(ObjectType::LineItems);
    assert!(
        items.iter().all(|n| n == "Woo Single #1 – Black"),
        "{items:?}"
    );
}
