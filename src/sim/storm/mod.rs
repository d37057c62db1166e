//! `syncline sim storm`: the load generator behind the real-node tests, the demo and the
//! benchmarks. It sends order webhooks to a receiver signed exactly as the platform signs
//! them (the store simulator's own `Signer`), following a profile of rates, with duplicate
//! (some concurrent) and out-of-order deliveries, bounded in count and in time. Progress
//! goes to stderr each second; the summary (JSON, one line) to stdout, including the newest
//! version of every order that was acknowledged, so a test can check what must have landed.

mod plan;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

pub use plan::{Copy, Phase, Planned, ProfileError, Shape, parse_profile, plan};

use super::store::data::StoredObject;
use super::store::render::render;
use super::store::sign::{Outgoing, SignedDelivery, Signer};
use crate::model::{ObjectKind, StorePlatform};

/// Flags of `syncline sim storm`.
#[derive(clap::Args, Debug, Clone)]
pub struct StormArgs {
    /// The receiver's base URL, e.g. http://acme-receiver.shops.svc:8080.
    #[arg(long)]
    pub target: String,
    /// Which platform's webhooks to send and sign.
    #[arg(long, value_parser = platform, default_value = "shopify")]
    pub platform: StorePlatform,
    /// The pipeline's webhook secret.
    #[arg(long, env = "SYNCLINE_STORM_SECRET")]
    pub secret: String,
    /// Phases of RATExSECONDS, e.g. 20x10,200x20,20x10 (steady, spike, steady).
    #[arg(long, default_value = "20x10")]
    pub profile: String,
    /// Distinct orders the deliveries cycle through; each delivery is an order's next version.
    #[arg(long, default_value_t = 100)]
    pub orders: u64,
    /// The first order id.
    #[arg(long, default_value_t = 1)]
    pub first_id: u64,
    /// Fraction of deliveries sent twice (the store retrying), 0..=1.
    #[arg(long, default_value_t = 0.0)]
    pub duplicates: f64,
    /// Of the duplicates, the fraction sent at the same moment as the original, 0..=1.
    #[arg(long, default_value_t = 0.5)]
    pub concurrent_duplicates: f64,
    /// Fraction of deliveries swapped with their successor (older version last), 0..=1.
    #[arg(long, default_value_t = 0.0)]
    pub out_of_order: f64,
    /// Deliveries in flight at most.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Stop after this many deliveries, whatever the profile says.
    #[arg(long, default_value_t = 100_000)]
    pub max_count: u64,
    /// Stop sending after this long, whatever the profile says.
    #[arg(long, value_parser = crate::api::duration::parse_duration, default_value = "10m")]
    pub max_time: Duration,
    /// Shopify's X-Shopify-Shop-Domain, WooCommerce's source URL.
    #[arg(long, default_value = "acme.myshopify.com")]
    pub shop_domain: String,
    /// Seed of the duplicate and out-of-order draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A tag making this run's delivery ids unique (default: the start time).
    #[arg(long)]
    pub run_id: Option<String>,
}

/// `shopify`, `woocommerce` or `magento`, spelled as in the CRD.
fn platform(text: &str) -> Result<StorePlatform, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| format!("`{text}` is not shopify, woocommerce or magento"))
}

/// Why a storm could not run.
#[derive(Debug, thiserror::Error)]
pub enum StormError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("--{0} must be within 0..=1")]
    Fraction(&'static str),
    #[error("--concurrency must be at least 1")]
    Concurrency,
}

/// What the storm did.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Deliveries planned (copies not counted).
    pub planned: u64,
    /// Requests sent, copies included.
    pub sent: u64,
    /// Requests answered 2xx.
    pub acknowledged: u64,
    /// Non-2xx answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer (connection refused, timeout).
    pub errors: u64,
    pub seconds: f64,
    /// Requests per second achieved.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Order id → the newest version a 2xx was given for: what must reach the CRM.
    pub newest_acknowledged: BTreeMap<u64, u32>,
    /// Order id → when (Unix ms) the first acknowledged delivery of that newest version was
    /// sent: with the CRM's write times, the end-to-end latency.
    pub newest_sent_at_ms: BTreeMap<u64, u64>,
}

#[derive(Default)]
struct Tally {
    summary: Summary,
    latencies: Vec<f64>,
}

impl StormArgs {
    fn shape(&self) -> Result<Shape, StormError> {
        for (name, v) in [
            ("duplicates", self.duplicates),
            ("concurrent-duplicates", self.concurrent_duplicates),
            ("out-of-order", self.out_of_order),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(StormError::Fraction(name));
            }
        }
        if self.concurrency == 0 {
            return Err(StormError::Concurrency);
        }
        Ok(Shape {
            orders: self.orders,
            first_id: self.first_id,
            duplicates: self.duplicates,
            concurrent_duplicates: self.concurrent_duplicates,
            out_of_order: self.out_of_order,
            max_count: self.max_count,
            seed: self.seed,
        })
    }

    /// Runs the storm to its end (or `max_time`) and returns its summary.
    pub async fn run(self) -> Result<Summary, StormError> {
        crate::tls::ensure_crypto_provider();
        let deliveries = plan(&parse_profile(&self.profile)?, &self.shape()?);
        let base = jiff::Timestamp::now();
        let run_id = self
            .run_id
            .clone()
            .unwrap_or_else(|| base.as_second().to_string());
        let signer = Signer {
            platform: self.platform,
            secret: self.secret.clone(),
            shop_domain: self.shop_domain.clone(),
            api_version: "2025-07".into(),
            source_url: format!("https://{}", self.shop_domain),
        };
        let client = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let started = Instant::now();
        let progress = tokio::spawn(report_progress(tally.clone(), started));
        let mut tasks = tokio::task::JoinSet::new();
        for d in &deliveries {
            if started.elapsed() >= self.max_time {
                break;
            }
            tokio::time::sleep_until((started + d.at).into()).await;
            let signed = sign(&signer, d, base, &run_id);
            let copies = match d.copy {
                Copy::None => vec![Duration::ZERO],
                Copy::Concurrent => vec![Duration::ZERO, Duration::ZERO],
                Copy::Later => vec![Duration::ZERO, Duration::from_millis(500)],
            };
            for delay in copies {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let request = signed.request(&client, &self.target);
                let (tally, order) = (tally.clone(), (d.order_id, d.version));
                tasks.spawn(async move {
                    tokio::time::sleep(delay).await;
                    let sent = Instant::now();
                    let sent_at = crate::queue::unix_ms();
                    let answer = request.send().await.map(|r| r.status().as_u16());
                    drop(slot);
                    record(&tally, order, answer.ok(), (sent_at, sent.elapsed()));
                });
            }
        }
        while tasks.join_next().await.is_some() {}
        progress.abort();
        let seconds = started.elapsed().as_secs_f64();
        let mut tally = std::mem::take(&mut *crate::sim::lock(&tally));
        tally.latencies.sort_by(f64::total_cmp);
        let mut summary = tally.summary;
        summary.planned = deliveries.len() as u64;
        summary.seconds = seconds;
        summary.rate = summary.sent as f64 / seconds.max(1e-9);
        summary.p50_ms = percentile(&tally.latencies, 0.50);
        summary.p99_ms = percentile(&tally.latencies, 0.99);
        Ok(summary)
    }
}

/// One planned delivery as the platform would send it. Versions are a second apart in
/// `updated_at` (store times have second precision), from the storm's start.
fn sign(signer: &Signer, d: &Planned, base: jiff::Timestamp, run_id: &str) -> SignedDelivery {
    let at = |secs: i64| {
        base.saturating_add(jiff::SignedDuration::from_secs(secs))
            .unwrap_or(base)
    };
    let object = StoredObject {
        kind: ObjectKind::Orders,
        id: d.order_id,
        version: d.version,
        created_at: base,
        updated_at: at(i64::from(d.version)),
    };
    signer.sign(&Outgoing {
        kind: ObjectKind::Orders,
        created: d.version == 1,
        object: render(signer.platform, &object),
        delivery_id: format!("storm-{run_id}-{}", d.seq),
        at_unix: at(i64::from(d.version)).as_second(),
    })
}

/// Counts one answer; `sent` is when the request went (Unix ms) and how long it took.
fn record(
    tally: &Mutex<Tally>,
    (id, version): (u64, u32),
    status: Option<u16>,
    (sent_at, took): (u64, Duration),
) {
    let mut t = crate::sim::lock(tally);
    t.summary.sent += 1;
    match status {
        Some(s) if (200..300).contains(&s) => {
            t.summary.acknowledged += 1;
            t.latencies.push(took.as_secs_f64() * 1000.0);
            let newest = *t.summary.newest_acknowledged.entry(id).or_insert(version);
            if version > newest {
                t.summary.newest_acknowledged.insert(id, version);
                t.summary.newest_sent_at_ms.insert(id, sent_at);
            } else if version == newest {
                let first = t.summary.newest_sent_at_ms.entry(id).or_insert(sent_at);
                *first = (*first).min(sent_at);
            }
        }
        Some(s) => *t.summary.statuses.entry(s).or_insert(0) += 1,
        None => t.summary.errors += 1,
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn report_progress(tally: Arc<Mutex<Tally>>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let t = crate::sim::lock(&tally);
        let s = &t.summary;
        let refused: u64 = s.statuses.values().sum();
        eprintln!(
            "storm {:>5.1} s: sent {} acknowledged {} non-2xx {} no answer {}",
            started.elapsed().as_secs_f64(),
            s.sent,
            s.acknowledged,
            refused,
            s.errors
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_figures() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn acknowledgements_keep_each_orders_newest_version() {
        let tally = Mutex::new(Tally::default());
        let ms = Duration::from_millis(3);
        record(&tally, (7, 2), Some(200), (1_000, ms));
        record(&tally, (7, 2), Some(200), (900, ms));
        record(&tally, (7, 1), Some(200), (800, ms));
        record(&tally, (7, 3), Some(503), (1_100, ms));
        record(&tally, (8, 1), None, (1_200, ms));
        let s = &tally.lock().unwrap().summary;
        assert_eq!(s.newest_acknowledged, BTreeMap::from([(7, 2)]));
        assert_eq!(
            s.newest_sent_at_ms,
            BTreeMap::from([(7, 900)]),
            "the first send of the newest version"
        );
        assert_eq!((s.sent, s.acknowledged, s.errors), (5, 3, 1));
        assert_eq!(s.statuses, BTreeMap::from([(503, 1)]));
    }
}
