//! `syncline sim storm`: the load generator behind the real-node tests, the demo and the
//! benchmarks. It sends order webhooks to a receiver signed exactly as the platform signs
//! them (the store simulator's own `Signer`), following a profile of rates, with duplicate
//! (some concurrent), out-of-order and dropped deliveries, bounded in count and in time.
//! With `--store` it first records every version in the store simulator, as a real store
//! commits a change before it sends the webhook, so a dropped delivery is still there for
//! the poller to find. Progress goes to stderr each second (with `--crm` and `--redis`, what
//! the pipeline made of it: lag, orders synced, the CRM's 429s); the summary (JSON, one line)
//! to stdout, including the version of every order that must reach the CRM.

mod plan;
mod send;
mod summary;
mod watch;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use plan::{Copy, Phase, Planned, ProfileError, Shape, parse_profile, plan};
pub use summary::{Settled, Summary};

use crate::model::StorePlatform;
use crate::queue::QueueKeys;
use crate::queue::admin::RedisTarget;
use summary::{Tally, percentile};
use watch::{Look, Watch};

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
    /// Fraction of deliveries never sent (the webhook lost), 0..=1; needs --store, where
    /// the change is recorded for the poller to find.
    #[arg(long, default_value_t = 0.0)]
    pub dropped: f64,
    /// The store simulator's base URL: every version is recorded there (PUT
    /// /_sim/objects/orders) before its webhook is sent, or instead of it when dropped.
    #[arg(long)]
    pub store: Option<String>,
    /// The HubSpot simulator's base URL: the live view counts the orders synced at their
    /// newest version and the CRM's 429s.
    #[arg(long)]
    pub crm: Option<String>,
    /// The pipeline's Redis URL: the live view shows the queue's lag (needs --pipeline).
    #[arg(long)]
    pub redis: Option<String>,
    /// The pipeline as NAMESPACE/NAME, for its queue keys (with --redis).
    #[arg(long)]
    pub pipeline: Option<String>,
    /// With --crm: after the last send, keep watching up to this long until every order is
    /// synced at its newest version; the summary's `settled` says how far it got.
    #[arg(long, value_parser = crate::api::duration::parse_duration, default_value = "0s")]
    pub settle: Duration,
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
    /// Seed of the duplicate, out-of-order and drop draws.
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

/// Why a storm could not run, naming the flag.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StormError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("--{0} must be within 0..=1")]
    Fraction(&'static str),
    #[error("--concurrency must be at least 1")]
    Concurrency,
    #[error(
        "--dropped needs --store: a dropped webhook is only caught by the poller if the store holds the change"
    )]
    DroppedWithoutStore,
    #[error("--redis and --pipeline go together: the lag is read from the pipeline's queue keys")]
    RedisWithoutPipeline,
    #[error("--pipeline: `{0}` is not NAMESPACE/NAME")]
    Pipeline(String),
    #[error("--settle needs --crm: settling means every order synced in the CRM")]
    SettleWithoutCrm,
}

impl StormArgs {
    fn shape(&self) -> Result<Shape, StormError> {
        for (name, v) in [
            ("duplicates", self.duplicates),
            ("concurrent-duplicates", self.concurrent_duplicates),
            ("out-of-order", self.out_of_order),
            ("dropped", self.dropped),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(StormError::Fraction(name));
            }
        }
        if self.concurrency == 0 {
            return Err(StormError::Concurrency);
        }
        if self.dropped > 0.0 && self.store.is_none() {
            return Err(StormError::DroppedWithoutStore);
        }
        if !self.settle.is_zero() && self.crm.is_none() {
            return Err(StormError::SettleWithoutCrm);
        }
        Ok(Shape {
            orders: self.orders,
            first_id: self.first_id,
            duplicates: self.duplicates,
            concurrent_duplicates: self.concurrent_duplicates,
            out_of_order: self.out_of_order,
            dropped: self.dropped,
            max_count: self.max_count,
            seed: self.seed,
        })
    }

    /// The pipeline's queue, when the live view should show its lag.
    fn queue(&self) -> Result<Option<(RedisTarget, QueueKeys)>, StormError> {
        match (&self.redis, &self.pipeline) {
            (None, None) => Ok(None),
            (Some(url), Some(pipeline)) => {
                let (ns, name) = pipeline
                    .split_once('/')
                    .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
                    .ok_or_else(|| StormError::Pipeline(pipeline.clone()))?;
                Ok(Some((RedisTarget::plain(url), QueueKeys::new(ns, name))))
            }
            _ => Err(StormError::RedisWithoutPipeline),
        }
    }

    /// Runs the storm to its end (or `max_time`), settles if asked, and returns its summary.
    pub async fn run(self) -> Result<Summary, StormError> {
        crate::tls::ensure_crypto_provider();
        let deliveries = plan(&parse_profile(&self.profile)?, &self.shape()?);
        let client = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let watch = Arc::new(Watch {
            client: client.clone(),
            crm: self.crm.clone(),
            queue: self.queue()?,
        });
        let tally = Arc::new(Mutex::new(Tally::default()));
        let started = Instant::now();
        let progress = tokio::spawn(report_progress(tally.clone(), watch.clone(), started));
        self.send(&deliveries, &client, &tally, started).await;
        let sent_for = started.elapsed().as_secs_f64();
        let settled = self.settle(&watch, &tally).await;
        progress.abort();
        let mut tally = std::mem::take(&mut *crate::sim::lock(&tally));
        tally.latencies.sort_by(f64::total_cmp);
        let mut summary = tally.summary;
        summary.planned = deliveries.len() as u64;
        summary.seconds = sent_for;
        summary.rate = summary.sent as f64 / sent_for.max(1e-9);
        summary.p50_ms = percentile(&tally.latencies, 0.50);
        summary.p99_ms = percentile(&tally.latencies, 0.99);
        summary.settled = settled;
        Ok(summary)
    }

    /// With `--settle`: watches until every expected order is synced, or the time is up.
    async fn settle(&self, watch: &Watch, tally: &Mutex<Tally>) -> Option<Settled> {
        if self.settle.is_zero() {
            return None;
        }
        let expected = crate::sim::lock(tally).summary.expected().clone();
        let from = Instant::now();
        loop {
            let synced = watch.synced(&expected).await.unwrap_or(0);
            let done = synced >= expected.len() as u64;
            if done || from.elapsed() >= self.settle {
                return Some(Settled {
                    synced,
                    expected: expected.len() as u64,
                    seconds: from.elapsed().as_secs_f64(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn report_progress(tally: Arc<Mutex<Tally>>, watch: Arc<Watch>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let summary = crate::sim::lock(&tally).summary.clone();
        let look = if watch.crm.is_some() || watch.queue.is_some() {
            watch.look(summary.expected()).await
        } else {
            Look::default()
        };
        let elapsed = started.elapsed().as_secs_f64();
        eprintln!("{}", watch::line(elapsed, &summary, &look));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        storm: StormArgs,
    }

    fn args(extra: &[&str]) -> StormArgs {
        let mut argv = vec!["storm", "--target", "http://127.0.0.1:1", "--secret", "s"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).storm
    }

    #[test]
    fn flags_that_need_each_other_are_refused_naming_them() {
        for (extra, want) in [
            (&["--dropped", "0.1"][..], StormError::DroppedWithoutStore),
            (
                &["--dropped", "1.5", "--store", "http://s"][..],
                StormError::Fraction("dropped"),
            ),
            (&["--settle", "5s"][..], StormError::SettleWithoutCrm),
        ] {
            assert_eq!(args(extra).shape(), Err(want), "{extra:?}");
        }
        assert_eq!(
            args(&["--redis", "redis://r"]).queue().err(),
            Some(StormError::RedisWithoutPipeline)
        );
        assert_eq!(
            args(&["--redis", "redis://r", "--pipeline", "shops"])
                .queue()
                .err(),
            Some(StormError::Pipeline("shops".into()))
        );
        let (_, keys) = args(&["--redis", "redis://r", "--pipeline", "shops/acme"])
            .queue()
            .unwrap()
            .unwrap();
        assert_eq!(keys.events(), QueueKeys::new("shops", "acme").events());
        assert!(
            args(&["--dropped", "0.1", "--store", "http://s"])
                .shape()
                .is_ok()
        );
    }
}
