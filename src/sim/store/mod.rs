//! `syncline sim shopify|woocommerce|magento`: simulators of the stores' REST APIs
//! (docs/api-contracts.md) over a seeded, mutable data set, with the platforms' pagination,
//! auth and rate limits, fault injection, and a webhook emitter that signs deliveries as
//! the platform does and can drop, duplicate, reorder and delay them. `/_sim/*` endpoints
//! (no auth; test-only) mutate data, inject faults and show counters.

mod cli;
pub mod data;
pub mod dates;
mod http;
mod magento;
pub mod render;
mod shopify;
pub mod sign;
pub mod webhooks;
mod woo_auth;
mod woocommerce;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use super::lock;

use crate::model::{ObjectKind, StorePlatform};
use data::{Dataset, StoredObject};
use sign::{Outgoing, Signer};
use webhooks::{Emitter, WebhookKnobs};

pub use crate::sim::hubspot::SimError;
pub use cli::StoreSimArgs;
pub use http::router;

/// Settings of one store simulator.
#[derive(Debug, Clone)]
pub struct StoreSimSettings {
    pub platform: StorePlatform,
    /// Shopify Admin API access token, or Magento integration bearer token.
    pub token: String,
    /// WooCommerce REST credentials: OAuth 1.0a signatures over http, HTTP Basic too when
    /// `https`.
    pub consumer_key: String,
    pub consumer_secret: String,
    /// WooCommerce: requests count as HTTPS (the store behind a TLS-terminating proxy).
    pub https: bool,
    /// Signs webhooks: Shopify client secret, WooCommerce webhook secret, or a Standard
    /// Webhooks `whsec_…` secret for Magento.
    pub webhook_secret: String,
    pub shop_domain: String,
    pub api_version: String,
    /// Shopify's leaky bucket: 40 requests draining 2/s on standard plans (Plus: 400, 20/s).
    pub bucket_size: u32,
    pub leak_per_second: f64,
}

impl StoreSimSettings {
    pub fn new(platform: StorePlatform) -> Self {
        Self {
            platform,
            token: "store-token".into(),
            consumer_key: "ck_test".into(),
            consumer_secret: "cs_test".into(),
            https: false,
            webhook_secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
            shop_domain: "acme.myshopify.com".into(),
            api_version: "2025-07".into(),
            bucket_size: 40,
            leak_per_second: 2.0,
        }
    }
}

/// Injected faults: the next `burst_429` API requests are answered 429 with
/// `Retry-After: retry_after` (seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreFaults {
    pub burst_429: u32,
    pub retry_after: f64,
}

/// Counters shown by `GET /_sim/stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub unauthorized: AtomicU64,
    /// 429s from the leaky bucket.
    pub rate_limited: AtomicU64,
    pub forced_429: AtomicU64,
    pub bad_requests: AtomicU64,
}

/// Snapshot of the counters, as JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    pub requests: u64,
    pub unauthorized: u64,
    pub rate_limited: u64,
    pub forced_429: u64,
    pub bad_requests: u64,
    pub objects: std::collections::BTreeMap<String, usize>,
    pub webhooks_queued: u64,
    pub webhooks_sent: u64,
    pub webhooks_dropped: u64,
    pub webhooks_failed: u64,
    pub webhooks_pending: u64,
}

/// A leaky bucket: each request adds one; the level drains at a constant rate.
#[derive(Debug, Clone)]
pub struct LeakyBucket {
    pub capacity: u32,
    pub leak_per_second: f64,
    level: f64,
    at: Option<Instant>,
}

impl LeakyBucket {
    pub fn new(capacity: u32, leak_per_second: f64) -> Self {
        Self {
            capacity,
            leak_per_second,
            level: 0.0,
            at: None,
        }
    }

    /// Admits one request at `now`: `Some(used)`, or `None` when full.
    pub fn admit(&mut self, now: Instant) -> Option<u32> {
        let elapsed = self
            .at
            .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        self.level = (self.level - elapsed * self.leak_per_second).max(0.0);
        self.at = Some(now);
        if self.level + 1.0 > f64::from(self.capacity) {
            return None;
        }
        self.level += 1.0;
        Some(self.level.ceil() as u32)
    }
}

/// The shared state of a running store simulator.
#[derive(Debug)]
pub struct StoreSim {
    pub settings: StoreSimSettings,
    data: Mutex<Dataset>,
    bucket: Mutex<LeakyBucket>,
    faults: Mutex<StoreFaults>,
    knobs: Mutex<WebhookKnobs>,
    emitter: Emitter,
    pub counters: Counters,
    deliveries: AtomicU64,
    /// WooCommerce OAuth nonces seen in the last 15 minutes (nonce → timestamp).
    nonces: Mutex<std::collections::HashMap<String, i64>>,
}

/// The object kinds a platform's API serves.
pub fn kinds(platform: StorePlatform) -> &'static [ObjectKind] {
    match platform {
        StorePlatform::Shopify => &[
            ObjectKind::Orders,
            ObjectKind::Customers,
            ObjectKind::Products,
            ObjectKind::Carts,
        ],
        _ => &[
            ObjectKind::Orders,
            ObjectKind::Customers,
            ObjectKind::Products,
        ],
    }
}

impl StoreSim {
    /// Must be called inside a Tokio runtime (the webhook emitter is a task).
    pub fn new(settings: StoreSimSettings) -> Arc<Self> {
        let signer = Signer {
            platform: settings.platform,
            secret: settings.webhook_secret.clone(),
            shop_domain: settings.shop_domain.clone(),
            api_version: settings.api_version.clone(),
            source_url: "https://shop.example".into(),
        };
        Arc::new(Self {
            data: Mutex::new(Dataset::default()),
            bucket: Mutex::new(LeakyBucket::new(
                settings.bucket_size,
                settings.leak_per_second,
            )),
            faults: Mutex::new(StoreFaults::default()),
            knobs: Mutex::new(WebhookKnobs::default()),
            emitter: Emitter::start(signer),
            counters: Counters::default(),
            deliveries: AtomicU64::new(0),
            nonces: Mutex::default(),
            settings,
        })
    }

    pub fn data(&self) -> MutexGuard<'_, Dataset> {
        lock(&self.data)
    }

    /// Imports history: objects `ids` at `at`, without webhooks.
    pub fn seed(&self, kind: ObjectKind, ids: impl IntoIterator<Item = u64>, at: Timestamp) {
        let mut data = self.data();
        for id in ids {
            data.upsert(kind, id, at);
        }
    }

    /// Creates or updates objects `ids` at `at` (default: now) and sends their webhooks
    /// through the emitter's knobs.
    pub fn mutate(
        &self,
        kind: ObjectKind,
        ids: &[u64],
        at: Option<Timestamp>,
    ) -> Vec<StoredObject> {
        let at = at.unwrap_or_else(Timestamp::now);
        let changed: Vec<StoredObject> = {
            let mut data = self.data();
            ids.iter().map(|id| data.upsert(kind, *id, at)).collect()
        };
        let knobs = lock(&self.knobs).clone();
        for object in &changed {
            let n = self.deliveries.fetch_add(1, Ordering::Relaxed) + 1;
            self.emitter.emit(
                Outgoing {
                    kind,
                    created: object.version == 1,
                    object: render::render(self.settings.platform, object),
                    delivery_id: format!("sim-{n}-{}", object.id),
                    at_unix: at.as_second(),
                },
                &knobs,
            );
        }
        changed
    }

    pub fn set_faults(&self, faults: StoreFaults) {
        *lock(&self.faults) = faults;
    }

    pub fn set_webhooks(&self, knobs: WebhookKnobs) {
        *lock(&self.knobs) = knobs;
    }

    /// Takes one injected 429, answering its Retry-After.
    fn forced_429(&self) -> Option<f64> {
        let mut faults = lock(&self.faults);
        (faults.burst_429 > 0).then(|| {
            faults.burst_429 -= 1;
            faults.retry_after
        })
    }

    fn admit_bucket(&self) -> Option<(u32, u32)> {
        let mut bucket = lock(&self.bucket);
        let used = bucket.admit(Instant::now())?;
        Some((used, bucket.capacity))
    }

    /// Waits until every webhook decided so far has been sent, failed or dropped.
    pub async fn webhooks_settled(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.emitter.stats.pending.load(Ordering::Relaxed) > 0 {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    pub fn stats(&self) -> StoreStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (c, w) = (&self.counters, &self.emitter.stats);
        let data = self.data();
        StoreStats {
            requests: get(&c.requests),
            unauthorized: get(&c.unauthorized),
            rate_limited: get(&c.rate_limited),
            forced_429: get(&c.forced_429),
            bad_requests: get(&c.bad_requests),
            objects: kinds(self.settings.platform)
                .iter()
                .map(|k| (k.as_str().to_string(), data.count(*k)))
                .collect(),
            webhooks_queued: get(&w.queued),
            webhooks_sent: get(&w.sent),
            webhooks_dropped: get(&w.dropped),
            webhooks_failed: get(&w.failed),
            webhooks_pending: get(&w.pending),
        }
    }
}

/// Serves `sim` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    sim: Arc<StoreSim>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    let served = axum::serve(listener, router(sim)).with_graceful_shutdown(shutdown);
    served.await.map_err(SimError::Serve)
}

/// `syncline sim <store>`: binds `addr` and serves until SIGTERM or Ctrl-C.
pub async fn run(addr: SocketAddr, settings: StoreSimSettings) -> Result<(), SimError> {
    let bound = TcpListener::bind(addr).await;
    let listener = bound.map_err(|source| SimError::Bind { addr, source })?;
    let platform = settings.platform.as_str();
    tracing::info!(listen = %addr, platform, "store simulator listening");
    serve(listener, StoreSim::new(settings), crate::shutdown::signal()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_fills_then_drains() {
        let mut b = LeakyBucket::new(3, 2.0);
        let t0 = Instant::now();
        assert_eq!(b.admit(t0), Some(1));
        assert_eq!(b.admit(t0), Some(2));
        assert_eq!(b.admit(t0), Some(3));
        assert_eq!(b.admit(t0), None);
        assert_eq!(b.admit(t0 + Duration::from_millis(500)), Some(3));
    }
}
