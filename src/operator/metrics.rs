//! The operator's Prometheus metrics.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `syncline_operator_reconciles_total` | — | reconciles run |
//! | `syncline_operator_reconcile_errors_total` | `reason` (stable error kind) | failed reconciles |
//! | `syncline_operator_reconcile_duration_seconds` | — | reconcile latency histogram |
//! | `syncline_operator_writes_total` | `kind` | server-side applies, deletes and status patches sent |
//! | `syncline_operator_leader` | — | 1 while this replica holds the leader lease |
//! | `syncline_operator_api_requests_total` | `verb`, `resource` | requests sent to the API server (watches, reads, writes) |
//!
//! Per pipeline, labelled `namespace` and `pipeline`, set by the leader on every queue
//! sample and removed when the pipeline is deleted:
//!
//! | metric | meaning |
//! |---|---|
//! | `syncline_queue_lag` | events in the queue (waiting or being worked on) |
//! | `syncline_queue_pending` | events delivered to a worker and not yet acknowledged |
//! | `syncline_queue_dead_letters` | events in the dead-letter stream |
//! | `syncline_queue_retries` | events waiting for a delayed retry |
//! | `syncline_queue_drain_seconds` | time to empty the queue at the recent drain rate (absent while unknown) |
//! | `syncline_workers_desired` | worker pods the scaler wants |
//! | `syncline_workers_ready` | worker pods ready |
//! | `syncline_crm_budget_wait_ratio` | share of the workers' time spent waiting on the CRM budget |
//! | `syncline_crm_budget_used_ratio` | the pipeline's CRM requests per second over what the budget allows |

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Handles to the operator's metrics, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: IntCounter,
    pub errors: IntCounterVec,
    pub duration: Histogram,
    pub writes: IntCounterVec,
    pub leader: IntGauge,
    pub api_requests: IntCounterVec,
    pub pipelines: PipelineGauges,
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
        for reason in super::error::ReconcileError::LABELS {
            errors.with_label_values(&[reason]);
        }
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
        let api_requests = IntCounterVec::new(
            Opts::new(
                "syncline_operator_api_requests_total",
                "Requests sent to the API server by verb and resource",
            ),
            &["verb", "resource"],
        )?;
        registry.register(Box::new(leader.clone()))?;
        registry.register(Box::new(api_requests.clone()))?;
        let pipelines = PipelineGauges::register(&registry)?;
        Ok(Self {
            registry,
            reconciles,
            errors,
            duration,
            writes,
            leader,
            api_requests,
            pipelines,
        })
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        crate::telemetry::render(&self.registry)
    }
}

/// The per-pipeline gauges (see the table above).
#[derive(Clone)]
pub struct PipelineGauges {
    lag: GaugeVec,
    pending: GaugeVec,
    dead_letters: GaugeVec,
    retries: GaugeVec,
    drain_seconds: GaugeVec,
    workers_desired: GaugeVec,
    workers_ready: GaugeVec,
    budget_wait: GaugeVec,
    budget_used: GaugeVec,
}

/// One pipeline's figures as the gauges show them; `None` removes a gauge's series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipelineFigures {
    pub lag: Option<f64>,
    pub pending: Option<f64>,
    pub dead_letters: Option<f64>,
    pub retries: Option<f64>,
    pub drain_seconds: Option<f64>,
    pub workers_desired: Option<f64>,
    pub workers_ready: Option<f64>,
    pub budget_wait: Option<f64>,
    pub budget_used: Option<f64>,
}

impl PipelineFigures {
    /// The gauges of one reconcile: the queue as sampled now (absent when Redis was not
    /// read), the workers as status shows them, and the budget as the workers reported it.
    pub fn of(
        sample: Option<&crate::queue::admin::QueueSample>,
        workers: Option<&crate::api::WorkersStatus>,
        scaling: &super::scaler::Scaling,
    ) -> Self {
        let n = |v: u64| Some(v as f64);
        let budget = match scaling {
            super::scaler::Scaling::FromLag { decision, .. } => decision.load,
            _ => None,
        };
        Self {
            lag: sample.and_then(|s| n(s.lag)),
            pending: sample.and_then(|s| n(s.pending)),
            dead_letters: sample.and_then(|s| n(s.dead_letters)),
            retries: sample.and_then(|s| n(s.retries)),
            drain_seconds: sample
                .and_then(super::status::drain_seconds)
                .map(|d| d as f64),
            workers_desired: Some(f64::from(scaling.replicas())),
            workers_ready: workers.map(|w| f64::from(w.ready_replicas)),
            budget_wait: budget.map(|b| f64::from(b.wait_permille) / 1000.0),
            budget_used: budget.map(|b| f64::from(b.used_permille) / 1000.0),
        }
    }
}

const PIPELINE_LABELS: [&str; 2] = ["namespace", "pipeline"];

impl PipelineGauges {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| -> Result<GaugeVec, prometheus::Error> {
            let g = GaugeVec::new(Opts::new(name, help), &PIPELINE_LABELS)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        Ok(Self {
            lag: gauge("syncline_queue_lag", "Events in the pipeline's queue")?,
            pending: gauge(
                "syncline_queue_pending",
                "Events delivered to a worker and not yet acknowledged",
            )?,
            dead_letters: gauge("syncline_queue_dead_letters", "Events in the dead letters")?,
            retries: gauge(
                "syncline_queue_retries",
                "Events waiting for a delayed retry",
            )?,
            drain_seconds: gauge(
                "syncline_queue_drain_seconds",
                "Seconds to empty the queue at the recent drain rate",
            )?,
            workers_desired: gauge("syncline_workers_desired", "Worker pods the scaler wants")?,
            workers_ready: gauge("syncline_workers_ready", "Worker pods ready")?,
            budget_wait: gauge(
                "syncline_crm_budget_wait_ratio",
                "Share of the workers' time spent waiting on the CRM budget",
            )?,
            budget_used: gauge(
                "syncline_crm_budget_used_ratio",
                "The pipeline's CRM requests per second over what the budget allows",
            )?,
        })
    }

    fn each(&self) -> [&GaugeVec; 9] {
        [
            &self.lag,
            &self.pending,
            &self.dead_letters,
            &self.retries,
            &self.drain_seconds,
            &self.workers_desired,
            &self.workers_ready,
            &self.budget_wait,
            &self.budget_used,
        ]
    }

    /// Shows `figures` for the pipeline `namespace/name`.
    pub fn set(&self, namespace: &str, name: &str, figures: &PipelineFigures) {
        let values = [
            figures.lag,
            figures.pending,
            figures.dead_letters,
            figures.retries,
            figures.drain_seconds,
            figures.workers_desired,
            figures.workers_ready,
            figures.budget_wait,
            figures.budget_used,
        ];
        for (gauge, value) in self.each().into_iter().zip(values) {
            match value {
                Some(v) => gauge.with_label_values(&[namespace, name]).set(v),
                None => {
                    let _ = gauge.remove_label_values(&[namespace, name]);
                }
            }
        }
    }

    /// Removes every series of a deleted pipeline.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.set(namespace, name, &PipelineFigures::default());
    }
}
