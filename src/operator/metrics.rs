//! The operator's Prometheus metrics.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `syncline_operator_reconciles_total` | — | reconciles run |
//! | `syncline_operator_reconcile_errors_total` | `reason` (stable error kind) | failed reconciles |
//! | `syncline_operator_reconcile_duration_seconds` | — | reconcile latency histogram |
//! | `syncline_operator_writes_total` | `kind` | server-side applies, deletes and status patches sent |
//! | `syncline_operator_leader` | — | 1 while this replica holds the leader lease |

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Handles to the operator's metrics, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: IntCounter,
    pub errors: IntCounterVec,
    pub duration: Histogram,
    pub writes: IntCounterVec,
    pub leader: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let reconciles = IntCounter::new("syncline_operator_reconciles_total", "Reconciles run")?;
        let errors = IntCounterVec::new(
            Opts::new(
                "syncline_operator_reconcile_errors_total",
                "Failed reconciles by error kind",
            ),
            &["reason"],
        )?;
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "syncline_operator_reconcile_duration_seconds",
                "Reconcile latency",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        let writes = IntCounterVec::new(
            Opts::new(
                "syncline_operator_writes_total",
                "Writes sent to the API server by object kind",
            ),
            &["kind"],
        )?;
        let leader = IntGauge::new(
            "syncline_operator_leader",
            "1 while this replica is the leader",
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(writes.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        Ok(Self {
            registry,
            reconciles,
            errors,
            duration,
            writes,
            leader,
        })
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        crate::telemetry::render(&self.registry)
    }
}
