//! The store simulators' admin side over HTTP: the real `syncline sim woocommerce` binary
//! with `/_sim/*` (seed, mutate, faults, stats), and WooCommerce and Magento webhooks
//! accepted by the real receiver (their signatures proven by the verifier).

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::model::{ObjectKind, StorePlatform};
use syncline::queue::QueueKeys;
use syncline::receiver::{ReceiverSettings, ReceiverState};
use syncline::sim::store::StoreSimSettings;
use syncline::sim::store::webhooks::WebhookKnobs;

use crate::support::redis::{RedisServer, free_port};
use crate::support::stores::StoreSimServer;

#[tokio::test]
async fn the_binary_serves_a_store_that_admin_calls_seed_mutate_and_fault() {
    let port = free_port();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncline"));
    command.args([
        "sim",
        "woocommerce",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    command.args(["--consumer-key", "ck_cli", "--consumer-secret", "cs_cli"]);
    // As behind a TLS-terminating proxy: HTTP Basic counts (over plain http it would not).
    command.arg("--https");
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let _child = command.spawn().unwrap();
    let http = syncline::tls::http_client();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while http.get(format!("{base}/_sim/stats")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the simulator did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    let seeded = post(
        "/_sim/seed/orders",
        json!({"from": 1, "count": 30,
        "updatedAt": "2026-11-20T15:00:00Z", "stepMs": 1000}),
    );
    assert_eq!(
        seeded.await.unwrap().json::<Value>().await.unwrap()["count"],
        30
    );
    let changed = post("/_sim/objects/orders", json!({"ids": [3, 31]}))
        .await
        .unwrap();
    assert_eq!(changed.json::<Value>().await.unwrap()["changed"], 2);
    let get_json = |path: &str| {
        let request = http.get(format!("{base}{path}")).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let objects = get_json("/_sim/objects/orders").await;
    let objects = objects.as_array().unwrap();
    assert_eq!(objects.len(), 31);
    assert_eq!(
        objects.last().unwrap()["version"],
        1,
        "31 was created, after 3 (version 2)"
    );
    assert_eq!(objects[29]["id"], 3);
    assert_eq!(objects[29]["version"], 2);
    post("/_sim/faults", json!({"burst429": 1, "retryAfter": 3.0}))
        .await
        .unwrap();
    let list = format!("{base}/wp-json/wc/v3/orders?per_page=100");
    let woo_get = || http.get(&list).basic_auth("ck_cli", Some("cs_cli")).send();
    let throttled = woo_get().await.unwrap();
    assert_eq!(
        (
            throttled.status().as_u16(),
            throttled.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "3.0")
    );
    let listed = woo_get().await.unwrap();
    assert_eq!(listed.headers()["x-wp-total"], "31");
    let stats = get_json("/_sim/stats").await;
    assert_eq!(
        (
            stats["forced429"].as_u64(),
            stats["objects"]["orders"].as_u64()
        ),
        (Some(1), Some(31))
    );
    let unknown = post("/_sim/objects/widgets", json!({"ids": [1]}))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

/// A receiver for `yaml` with `secret`, in-process on a free port: its base URL.
async fn receiver(yaml: &str, secret: &str, redis: &RedisServer) -> String {
    let yaml = format!("{yaml}  redis: {{url: \"{}\"}}\n", redis.url());
    let mut secrets = SecretValues::default();
    secrets.insert("webhookSecret", secret);
    let config = PipelineConfig {
        pipeline: parse_pipeline(&yaml).unwrap(),
        secrets,
    };
    let state = ReceiverState::new(&config, ReceiverSettings::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, syncline::receiver::router(state)).await });
    url
}

#[tokio::test]
async fn woocommerce_and_magento_webhooks_are_accepted_by_the_receiver() {
    let head = "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {name: acme, namespace: shops}\nspec:\n  crm: {platform: hubspot}\n  secretRef: {name: acme}\n";
    let cases = [
        (
            StorePlatform::WooCommerce,
            "  store: {platform: woocommerce, url: https://shop.example}\n",
            "woo-secret",
        ),
        (
            StorePlatform::Magento,
            "  store: {platform: magento, url: https://shop.example, magento: {webhooks: {scheme: standard}}}\n",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ];
    for (platform, store_yaml, secret) in cases {
        let redis = RedisServer::start();
        let url = receiver(&format!("{head}{store_yaml}"), secret, &redis).await;
        let mut settings = StoreSimSettings::new(platform);
        settings.webhook_secret = secret.into();
        let store = StoreSimServer::start(settings).await;
        store.sim.set_webhooks(WebhookKnobs {
            url: Some(url),
            ..WebhookKnobs::default()
        });
        store.sim.mutate(ObjectKind::Orders, &[1, 2, 3], None);
        store.sim.mutate(ObjectKind::Customers, &[1], None);
        assert!(store.sim.webhooks_settled(Duration::from_secs(10)).await);
        let stats = store.sim.stats();
        assert_eq!(
            (stats.webhooks_sent, stats.webhooks_failed),
            (4, 0),
            "{platform:?}"
        );
        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let events = QueueKeys::new("shops", "acme").events();
        let len: u64 = redis::cmd("XLEN")
            .arg(events)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(len, 4, "{platform:?}");
    }
}
