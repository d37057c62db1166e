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
    let mut secrets = SecretValues::default();
    secrets.insert("crmToken", TOKEN);
    secrets.insert("storeToken", "store-token");
    let config = PipelineConfig {
        pipeline: parse_pipeline(&yaml).unwrap(),
        secrets,
    };
    let port = free_port();
    let settings = WorkerSettings {
        listen: ([127, 0, 0, 1], port).into(),
        block: Duration::from_millis(200),
        ..WorkerSettings::default()
    };
    let worker = tokio::spawn(syncline::worker::run(config, settings));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let deals = crm.sim.store().objects(ObjectType::Deals).len();
        if deals == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{deals} of 3 polled orders reached the CRM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("http://127.0.0.1:{port}/metrics");
    let response = syncline::tls::http_client().get(url).send().await.unwrap();
    let metrics = response.text().await.unwrap();
    assert!(metrics.contains("syncline_poller_leader 1"), "{metrics}");
    assert!(metrics.contains("syncline_poller_objects_total{mode=\"poll\",object=\"orders\"} 3"));
    worker.abort();
}
