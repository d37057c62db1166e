//! Prometheus metrics of a worker. Labels come from fixed sets (object kinds, outcome
//! words, dead-letter reasons, HubSpot object paths), never from payloads.

use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

/// The worker's metrics, in a registry of their own so tests can run many workers in one
/// process.
#[derive(Clone, Debug)]
pub struct WorkerMetrics {
    registry: Registry,
    /// `syncline_worker_events_total{object, outcome}`; outcome is one of written,
    /// coalesced, stale, skipped, deferred, retried, dead_lettered.
    pub events: IntCounterVec,
    pub batch_size: Histogram,
    /// `syncline_worker_crm_request_duration_seconds{object, call, outcome}`.
    pub crm_latency: HistogramVec,
    pub crm_429: IntCounter,
    /// `syncline_worker_retries_total{class}`: outage, transient or lease_lost.
    pub retries: IntCounterVec,
    /// `syncline_worker_dead_letters_total{reason}`.
    pub dead_letters: IntCounterVec,
    pub watermark_drops: IntCounter,
    pub rate_wait: Histogram,
    /// `syncline_worker_retried_inputs_total{call}`: upsert inputs and association pairs
    /// sent again for events being retried (call: upsert, associate).
    pub retried_inputs: IntCounterVec,
    /// `syncline_worker_crm_observed_limit{window}`: the limit HubSpot's own headers state
    /// (window: interval = requests per `-Interval-Milliseconds`, daily).
    pub observed_limit: IntGaugeVec,
    /// `syncline_worker_crm_observed_interval_seconds`: the interval of that limit.
    pub observed_interval: Gauge,
    /// `syncline_worker_crm_daily_remaining`: `X-HubSpot-RateLimit-Daily-Remaining`.
    pub daily_remaining: IntGauge,
}

impl WorkerMetrics {
    /// Registers every metric; fails only on a programming error (a duplicate name).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let events = IntCounterVec::new(
            Opts::new(
                "syncline_worker_events_total",
                "Events handled, by object kind and outcome.",
            ),
            &["object", "outcome"],
        )?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "syncline_worker_batch_size",
                "Entries read from the queue per batch.",
            )
            .buckets(vec![
                1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
            ]),
        )?;
        let crm_latency = HistogramVec::new(
            HistogramOpts::new(
                "syncline_worker_crm_request_duration_seconds",
                "HubSpot call latency by object, call (upsert, associate) and outcome.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["object", "call", "outcome"],
        )?;
        let crm_429 = IntCounter::new(
            "syncline_worker_crm_rate_limited_total",
            "HubSpot 429 answers (each pauses every worker of the account).",
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "syncline_worker_retries_total",
                "Events scheduled for a delayed retry, by failure class.",
            ),
            &["class"],
        )?;
        let dead_letters = IntCounterVec::new(
            Opts::new(
                "syncline_worker_dead_letters_total",
                "Events moved to the dead letters, by reason.",
            ),
            &["reason"],
        )?;
        let watermark_drops = IntCounter::new(
            "syncline_worker_watermark_drops_total",
            "Events dropped because a newer (or the same) version was already written.",
        )?;
        let rate_wait = Histogram::with_opts(
            HistogramOpts::new(
                "syncline_worker_rate_limit_wait_seconds",
                "Waits for the account's shared request budget.",
            )
            .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        let retried_inputs = IntCounterVec::new(
            Opts::new(
                "syncline_worker_retried_inputs_total",
                "Inputs sent again for events being retried, by call (upsert, associate).",
            ),
            &["call"],
        )?;
        let observed_limit = IntGaugeVec::new(
            Opts::new(
                "syncline_worker_crm_observed_limit",
                "The request limit HubSpot's rate-limit headers state, by window (interval, daily).",
            ),
            &["window"],
        )?;
        let observed_interval = Gauge::new(
            "syncline_worker_crm_observed_interval_seconds",
            "The interval of HubSpot's stated request limit (X-HubSpot-RateLimit-Interval-Milliseconds).",
        )?;
        let daily_remaining = IntGauge::new(
            "syncline_worker_crm_daily_remaining",
            "Requests left today by X-HubSpot-RateLimit-Daily-Remaining.",
        )?;
        let collectors: [Box<dyn prometheus::core::Collector>; 12] = [
            Box::new(events.clone()),
            Box::new(batch_size.clone()),
            Box::new(crm_latency.clone()),
            Box::new(crm_429.clone()),
            Box::new(retries.clone()),
            Box::new(dead_letters.clone()),
            Box::new(watermark_drops.clone()),
            Box::new(rate_wait.clone()),
            Box::new(retried_inputs.clone()),
            Box::new(observed_limit.clone()),
            Box::new(observed_interval.clone()),
            Box::new(daily_remaining.clone()),
        ];
        for collector in collectors {
            registry.register(collector)?;
        }
        Ok(Self {
            registry,
            events,
            batch_size,
            crm_latency,
            crm_429,
            retries,
            dead_letters,
            watermark_drops,
            rate_wait,
            retried_inputs,
            observed_limit,
            observed_interval,
            daily_remaining,
        })
    }

    /// Counts `n` events of `object` with `outcome`.
    pub fn count(&self, object: &str, outcome: &str, n: u64) {
        if n > 0 {
            self.events.with_label_values(&[object, outcome]).inc_by(n);
        }
    }

    /// The Prometheus text exposition of every metric.
    /// The registry, so roles sharing the pod (the poller) can add their metrics to it.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn render(&self) -> String {
        crate::telemetry::render(&self.registry)
    }
}
