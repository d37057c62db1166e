//! `syncline sim …`: the simulators of the external APIs and the storm generator.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use syncline::model::StorePlatform;
use syncline::telemetry::{self, LogFormat};

use super::{duration, print};

#[derive(Subcommand)]
pub enum SimCommand {
    /// Serve the HubSpot CRM API subset syncline uses (with /_sim/* inspection endpoints).
    Hubspot(HubspotSimArgs),
    /// Serve Shopify's Admin REST API over a mutable data set, with webhooks.
    Shopify(syncline::sim::store::StoreSimArgs),
    /// Serve WooCommerce's REST v3 API over a mutable data set, with webhooks.
    Woocommerce(syncline::sim::store::StoreSimArgs),
    /// Serve Magento 2's REST search API over a mutable data set, with webhooks.
    Magento(syncline::sim::store::StoreSimArgs),
    /// Send a storm of signed order webhooks to a receiver, following a rate profile;
    /// prints progress to stderr and a JSON summary to stdout.
    Storm(syncline::sim::storm::StormArgs),
}

#[derive(Args)]
pub struct HubspotSimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The bearer token requests must carry.
    #[arg(long, env = "SYNCLINE_SIM_HUBSPOT_TOKEN")]
    token: String,
    /// Requests admitted per rolling 10 seconds (100 free/starter, 190 professional).
    #[arg(long, default_value_t = 190)]
    requests_per_10s: u32,
    /// Requests admitted per day.
    #[arg(long, default_value_t = 1_000_000)]
    daily_limit: u64,
    /// Search requests admitted per second.
    #[arg(long, default_value_t = 5)]
    search_per_second: u32,
    /// Send Retry-After on rate-limit 429s (HubSpot does not document one).
    #[arg(long)]
    retry_after_on_429: bool,
    /// Fraction (0..=1) of admitted requests answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Latency added to every request.
    #[arg(long, default_value = "0s", value_parser = duration)]
    latency: Duration,
    /// Up to this much more latency, drawn uniformly per request.
    #[arg(long, default_value = "0s", value_parser = duration)]
    latency_jitter: Duration,
    /// Answer 503 to everything for this long from start.
    #[arg(long, default_value = "0s", value_parser = duration)]
    outage: Duration,
    /// Answer 429 to the first N authenticated requests.
    #[arg(long, default_value_t = 0)]
    burst_429: u32,
}

impl SimCommand {
    pub async fn run(self, log_format: LogFormat) -> anyhow::Result<()> {
        let store = |platform| (platform, "running the store simulator");
        let (args, (platform, what)) = match self {
            Self::Storm(args) => {
                let summary = args.run().await.context("running the storm")?;
                return print(&format!("{}\n", serde_json::to_string(&summary)?));
            }
            Self::Hubspot(args) => {
                telemetry::init(log_format);
                return args.run().await;
            }
            Self::Shopify(args) => (args, store(StorePlatform::Shopify)),
            Self::Woocommerce(args) => (args, store(StorePlatform::WooCommerce)),
            Self::Magento(args) => (args, store(StorePlatform::Magento)),
        };
        telemetry::init(log_format);
        args.run(platform).await.context(what)
    }
}

impl HubspotSimArgs {
    async fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.error_rate),
            "--error-rate must be within 0..=1"
        );
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let settings = syncline::sim::hubspot::SimSettings {
            token: self.token,
            limits: syncline::sim::hubspot::LimitConfig {
                per_10s: self.requests_per_10s,
                daily: self.daily_limit,
                search_per_second: self.search_per_second,
            },
            faults: syncline::sim::hubspot::FaultConfig {
                error_rate: self.error_rate,
                error_status: 0,
                latency_ms: millis(self.latency),
                latency_jitter_ms: millis(self.latency_jitter),
                outage_ms: millis(self.outage),
                burst_429: self.burst_429,
                retry_after_secs: 0,
                only_path: String::new(),
            },
            retry_after_on_429: self.retry_after_on_429,
        };
        syncline::sim::hubspot::run(self.listen, settings)
            .await
            .context("running the HubSpot simulator")
    }
}
