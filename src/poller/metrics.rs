//! `syncline_poller_*` metrics, registered into the worker's registry (the poller runs in a
//! worker pod). Labels are object kinds and fixed words only.

use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
};

#[derive(Clone, Debug)]
pub struct PollerMetrics {
    /// `syncline_poller_objects_total{object, mode}`: objects listed (mode poll|backfill).
    pub objects: IntCounterVec,
    /// `syncline_poller_pages_total{object, mode}`.
    pub pages: IntCounterVec,
    /// `syncline_poller_cycle_duration_seconds{mode}`.
    pub cycle: HistogramVec,
    /// `syncline_poller_cursor_age_seconds{object}`: now minus the cursor's updated_at.
    pub cursor_age: GaugeVec,
    /// `syncline_poller_errors_total{reason}`.
    pub errors: IntCounterVec,
    /// `syncline_poller_leader`: 1 while this process holds the poller lease.
    pub leader: IntGauge,
    /// `syncline_poller_last_poll_timestamp_seconds`: when this process last finished a poll
    /// cycle (Unix seconds, 0 before its first), what "last poll too old" alerts read.
    pub last_poll: Gauge,
}

impl PollerMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let labels = ["object", "mode"];
        let m = Self {
            objects: IntCounterVec::new(
                Opts::new(
                    "syncline_poller_objects_total",
                    "Objects listed from the store, by kind and mode.",
                ),
                &labels,
            )?,
            pages: IntCounterVec::new(
                Opts::new(
                    "syncline_poller_pages_total",
                    "Pages listed from the store, by kind and mode.",
                ),
                &labels,
            )?,
            cycle: HistogramVec::new(
                HistogramOpts::new(
                    "syncline_poller_cycle_duration_seconds",
                    "Duration of a poll or backfill run.",
                )
                .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0]),
                &["mode"],
            )?,
            cursor_age: GaugeVec::new(
                Opts::new(
                    "syncline_poller_cursor_age_seconds",
                    "Age of the newest object the cursor has passed.",
                ),
                &["object"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "syncline_poller_errors_total",
                    "Failed poll runs, by reason.",
                ),
                &["reason"],
            )?,
            leader: IntGauge::new(
                "syncline_poller_leader",
                "1 while this process holds the poller lease.",
            )?,
            last_poll: Gauge::new(
                "syncline_poller_last_poll_timestamp_seconds",
                "When this process last finished a poll cycle (Unix seconds; 0 before its first).",
            )?,
        };
        registry.register(Box::new(m.objects.clone()))?;
        registry.register(Box::new(m.pages.clone()))?;
        registry.register(Box::new(m.cycle.clone()))?;
        registry.register(Box::new(m.cursor_age.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.leader.clone()))?;
        registry.register(Box::new(m.last_poll.clone()))?;
        Ok(m)
    }
}
