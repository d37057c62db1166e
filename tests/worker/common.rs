//! Shared fixtures: a Shopify pipeline writing to the in-process HubSpot simulator (real
//! HTTP) through a real redis-server, event generators built from the contracts doc's
//! sample payloads, in-process workers, and checks on what the CRM holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::queue::{DeadLetterFilter, EventEnvelope, Queue, QueueKeys, QueueSettings};
use syncline::sim::hubspot::types::CrmObject;
use syncline::sim::hubspot::types::ObjectType;
use syncline::worker::{WorkerMetrics, WorkerSettings};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::hubspot::{HubspotSim, TOKEN};
use crate::support::redis::RedisServer;

#[allow(unused_imports)]
pub use crate::support::orders::{SHOPIFY_ORDER, order, stamp};

pub struct Harness {
    pub redis: RedisServer,
    pub sim: HubspotSim,
    pub config: PipelineConfig,
    pub queue: Queue,
}

/// The pipeline manifest the tests use; `extra` is appended under spec.
pub fn pipeline_yaml(crm_url: &str, redis_url: &str, rate: u32, batch: u32) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: https://acme.myshopify.com\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: \"{crm_url}\", account: test-account}}\n  secretRef: {{name: acme}}\n\
         \x20 redis: {{url: \"{redis_url}\"}}\n  crmRateLimit: {{requests: {rate}, perSeconds: 10}}\n\
         \x20 workers: {{batchSize: {batch}, maxAttempts: 5}}\n"
    )
}

impl Harness {
    /// Redis, a simulator allowing `sim_per_10s` requests per 10 s, and a pipeline whose
    /// budget is `rate` per 10 s and batches `batch` events.
    pub async fn start(sim_per_10s: u32, rate: u32, batch: u32) -> Self {
        let redis = RedisServer::start();
        let sim = HubspotSim::with_limit(sim_per_10s).await;
        let pipeline =
            parse_pipeline(&pipeline_yaml(&sim.url(""), &redis.url(), rate, batch)).unwrap();
        let mut secrets = SecretValues::default();
        secrets.insert("crmToken", TOKEN);
        let config = PipelineConfig { pipeline, secrets };
        let queue = Queue::new(
            &redis.url(),
            QueueKeys::new("shops", "acme"),
            QueueSettings::default(),
        )
        .unwrap();
        queue.ensure_group().await.unwrap();
        Self {
            redis,
            sim,
            config,
            queue,
        }
    }

    /// Enqueues one Shopify event the way the receiver does.
    pub async fn enqueue(&self, delivery: &str, topic: &str, kind: &str, body: &Value) {
        let envelope = EventEnvelope {
            delivery_id: delivery.to_string(),
            platform: syncline::api::StorePlatform::Shopify,
            scheme: syncline::queue::Scheme::Shopify,
            topic: topic.into(),
            object_kind: Some(syncline::api::ObjectKind::parse(kind).unwrap()),
            object_id: body["id"].as_u64().map(|id| id.to_string()),
            received_at: "2026-11-20T15:01:03Z".into(),
            body: body.to_string(),
        };
        self.queue.enqueue(&envelope).await.unwrap();
    }

    /// Enqueues `orders/create` for orders `ids` at version `minute`, buyer `o<id>@…`.
    pub async fn enqueue_orders(&self, ids: std::ops::RangeInclusive<u64>, minute: u32) {
        for id in ids {
            let body = order(id, minute, &format!("o{id}@example.com"));
            self.enqueue(&format!("o{id}-{minute}"), "orders/create", "orders", &body)
                .await;
        }
    }

    /// Runs the binary as `syncline <args…> -f <this pipeline's manifest>` (written into
    /// `dir`), with the CRM token in the environment plus `env`.
    pub fn spawn(
        &self,
        dir: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Child {
        let manifest = dir.join("pipeline.yaml");
        let batch = self.config.pipeline.spec.workers.batch_size as u32;
        let rate = self.config.pipeline.spec.crm_rate_limit.requests as u32;
        std::fs::write(
            &manifest,
            pipeline_yaml(&self.sim.url(""), &self.redis.url(), rate, batch),
        )
        .unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_syncline"))
            .args(&args[..1])
            .arg("-f")
            .arg(&manifest)
            .args(&args[1..])
            .env("SYNCLINE_CRM_TOKEN", TOKEN)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap()
    }

    /// The `syncline worker` binary as consumer `doomed` (to be killed mid-batch), its
    /// object locks and pending entries expiring after `visibility` (e.g. `2s`).
    pub fn spawn_doomed_worker(
        &self,
        dir: &std::path::Path,
        visibility: &str,
    ) -> std::process::Child {
        let args = [
            "worker",
            "--listen",
            "127.0.0.1:0",
            "--consumer",
            "doomed",
            "--visibility-timeout",
            visibility,
        ];
        self.spawn(dir, &args, &[])
    }

    /// Starts an in-process worker named `consumer`; stop it with the returned sender.
    pub fn worker(&self, consumer: &str, visibility: Duration) -> Worker {
        self.worker_with(&self.config, consumer, visibility)
    }

    /// A worker of `config` (e.g. with another token).
    pub fn worker_with(
        &self,
        config: &PipelineConfig,
        consumer: &str,
        visibility: Duration,
    ) -> Worker {
        let settings = WorkerSettings {
            consumer: Some(consumer.into()),
            visibility_timeout: visibility,
            block: Duration::from_millis(200),
            crm_timeout: Duration::from_secs(5),
            ..WorkerSettings::default()
        };
        spawn_worker(config, settings)
    }

    /// Objects of a type in the CRM, by their unique key property.
    pub fn objects(&self, t: ObjectType, key: &str) -> BTreeMap<String, CrmObject> {
        self.sim
            .sim
            .store()
            .objects(t)
            .into_iter()
            .filter_map(|o| Some((o.properties.get(key)?.clone(), o)))
            .collect()
    }

    /// Entries in the stream, the retry set and the dead letters.
    pub async fn depth(&self) -> (u64, u64, u64) {
        let d = self.queue.depth().await.unwrap();
        (d.lag, d.retries, d.dead_letters)
    }

    /// Waits until the stream and the retry set are empty, for at most `secs`.
    pub async fn drained(&self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (lag, retries, _) = self.depth().await;
            if lag == 0 && retries == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "queue not drained after {secs}s: lag {lag}, retries {retries}, sim {:?}",
                self.sim.sim.stats().objects
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `check` holds, for at most `secs`.
    pub async fn until(&self, secs: u64, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the worker's custom properties exist in the CRM (start-up bootstrap done).
    pub fn bootstrapped(&self) -> bool {
        self.sim
            .sim
            .store()
            .property(ObjectType::Deals, "syncline_order_key")
            .is_some()
    }

    pub async fn dead_letters(&self) -> Vec<syncline::queue::Entry> {
        self.queue
            .dead_letters(&DeadLetterFilter::default(), 100_000)
            .await
            .unwrap()
    }
}

/// An in-process worker of `config` (the `syncline worker` consume loop), until stopped.
pub fn spawn_worker(config: &PipelineConfig, settings: WorkerSettings) -> Worker {
    let metrics = WorkerMetrics::new().unwrap();
    let handler = syncline::worker::handler(config, &settings, metrics.clone()).unwrap();
    let lanes = syncline::worker::Lanes::of(&config.pipeline.spec.workers);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        syncline::worker::consume(
            handler,
            lanes,
            &settings,
            Arc::new(AtomicBool::new(false)),
            stopped,
        )
        .await;
    });
    Worker {
        stop,
        task,
        metrics,
    }
}

/// Asserts that no deal of the write log ever received an older version (amounts carry
/// the version) than one it had; answers the deal writes per key.
pub fn assert_deals_never_went_back(h: &Harness) -> BTreeMap<String, u32> {
    let mut last: BTreeMap<String, u32> = BTreeMap::new();
    let mut writes: BTreeMap<String, u32> = BTreeMap::new();
    for w in h.sim.sim.store().writes() {
        if let Some(amount) = w.properties.get("amount") {
            let minute: u32 = amount.trim_end_matches(".00").parse().unwrap();
            let previous = last.insert(w.key.clone(), minute).unwrap_or(0);
            assert!(
                minute >= previous,
                "deal {} went back from {previous} to {minute}",
                w.key
            );
            *writes.entry(w.key.clone()).or_default() += 1;
        }
    }
    writes
}

pub struct Worker {
    pub stop: watch::Sender<bool>,
    pub task: JoinHandle<()>,
    pub metrics: WorkerMetrics,
}

impl Worker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }
}

/// A Shopify customer whose first name carries its version.
pub fn customer(id: u64, minute: u32) -> Value {
    json!({"id": id, "email": format!("c{id}@example.com"), "first_name": format!("v{minute}"),
           "last_name": "Shopper", "phone": null, "created_at": "2026-11-01T09:00:00-05:00",
           "updated_at": stamp(minute)})
}

/// The deal key the worker writes for Shopify order `id` of the test store.
pub fn deal_key(id: u64) -> String {
    format!("shopify:acme.myshopify.com:{id}")
}

/// Sends SIGTERM to `child` and waits (at most 30 s) for it to exit.
pub async fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopped = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
