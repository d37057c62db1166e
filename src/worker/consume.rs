//! How a worker pod consumes: the bootstrap once, then `spec.workers.concurrency` lanes,
//! each reading (or taking over) a batch, handling it and backing off after an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::Instrument;

use super::{BatchHandler, BatchReport, WorkerError, WorkerSettings, load, retry};
use crate::queue::QueueError;
use crate::shutdown::pause;

/// Consumers without pending entries idle this long belong to pods that are gone.
const CONSUMER_IDLE_LIMIT: Duration = Duration::from_secs(3600);

/// How a worker pod consumes: entries per batch and batches in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lanes {
    pub batch_size: usize,
    pub count: usize,
}

/// Lanes beyond this are refused by the CRD; a file run is clamped to it.
const MAX_LANES: usize = 16;

impl Lanes {
    /// From `spec.workers` (batchSize, concurrency), clamped to what the CRD allows.
    pub fn of(spec: &crate::api::WorkersSpec) -> Self {
        Self {
            batch_size: usize::try_from(spec.batch_size).unwrap_or(100).max(1),
            count: usize::try_from(spec.concurrency)
                .unwrap_or(1)
                .clamp(1, MAX_LANES),
        }
    }
}

/// How often a lane that is not needed looks at the lag again.
const LANE_RECHECK: Duration = Duration::from_millis(250);

/// Whether lane `lane` takes a batch now. Lane 0 always does. Lane n only while the stream
/// holds a full batch for it beyond the ones lanes 0..n may hold (lag ≥ (n + 1) ×
/// batchSize). Under a steady trickle, extra lanes would split small batches and race
/// each other for budget tokens: more requests per order and a slower p99. They are for
/// backlogs, where they fill the budget.
fn lane_engaged(lane: usize, batch_size: usize, lag: u64) -> bool {
    let needed = (lane as u64 + 1).saturating_mul(batch_size as u64);
    lane == 0 || lag >= needed
}

/// Lane `n` of a worker: its own consumer name (object claims and pending entries are
/// per consumer, so two lanes must never share one), its own load report, and its own
/// Redis connection (its blocking reads must not hold up the others' commands). Lane 0
/// keeps the worker's name, which the poller's lease also uses.
fn lane(handler: &BatchHandler, n: usize) -> Result<BatchHandler, QueueError> {
    let mut lane = handler.clone();
    lane.queue = handler.queue.own_connection()?;
    lane.writer.queue = lane.queue.clone();
    if n > 0 {
        lane.consumer = format!("{}-{n}", handler.consumer);
        lane.writer.load = load::LoadMeter::default();
    }
    Ok(lane)
}

/// Bootstraps the CRM schema, then consumes with `lanes.count` batches in flight until
/// shutdown; each finishes the batch in hand first.
pub async fn consume(
    handler: BatchHandler,
    lanes: Lanes,
    settings: &WorkerSettings,
    ready: Arc<AtomicBool>,
    mut stopped: watch::Receiver<bool>,
) {
    if !start(&handler, &mut stopped).await {
        return;
    }
    ready.store(true, Ordering::Relaxed);
    tracing::info!(
        batch_size = lanes.batch_size,
        lanes = lanes.count,
        "worker consuming"
    );
    let mut running = Vec::new();
    for n in 0..lanes.count.max(1) {
        let handler = match lane(&handler, n) {
            Ok(handler) => handler,
            // The URL opened once already, so this is not expected; fewer lanes still work.
            Err(e) => {
                tracing::warn!(error = %e, lane = n, "lane not started");
                continue;
            }
        };
        running.push(tokio::spawn(
            consume_lane(
                handler,
                n,
                lanes.batch_size,
                settings.clone(),
                stopped.clone(),
            )
            .in_current_span(),
        ));
    }
    for lane in running {
        let _ = lane.await;
    }
    tracing::info!("worker stopped");
}

/// The stream's group and the CRM's custom properties, retried until they work; `false`
/// when shutdown came first.
async fn start(handler: &BatchHandler, stopped: &mut watch::Receiver<bool>) -> bool {
    let mut step = 0u32;
    loop {
        if *stopped.borrow() {
            return false;
        }
        let result = async {
            handler
                .queue
                .ensure_group()
                .await
                .map_err(WorkerError::from)?;
            handler.writer.bootstrap().await
        }
        .await;
        let Err(e) = result else {
            return true;
        };
        if let WorkerError::Crm(
            crm @ crate::connectors::crm::hubspot::CrmError::Unauthorized { .. },
        ) = &e
        {
            let _ = handler
                .queue
                .mark_crm_unauthorized(&crm.to_string(), Duration::from_secs(600))
                .await;
        }
        tracing::warn!(error = %e, "start-up not complete; retrying");
        step = step.saturating_add(1);
        let wait = retry::full_jitter(step, retry::MAX_OUTAGE_PAUSE, fastrand::f64());
        if pause(wait.max(Duration::from_millis(200)), stopped).await {
            return false;
        }
    }
}

/// One lane: read (or take over) a batch, handle it, back off after an outage; its load
/// report is published beside it.
async fn consume_lane(
    handler: BatchHandler,
    lane: usize,
    batch_size: usize,
    settings: WorkerSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let reporter = tokio::spawn(
        load::report(
            handler.queue.clone(),
            handler.consumer.clone(),
            handler.writer.load.clone(),
            stopped.clone(),
        )
        .in_current_span(),
    );
    let mut streak = 0u32;
    let mut last_promote = Instant::now() - Duration::from_secs(60);
    let mut last_reclaim = Instant::now() - Duration::from_secs(3600);
    let reclaim_every = (settings.visibility_timeout / 4).max(Duration::from_millis(200));
    while !*stopped.borrow() {
        let result = async {
            if last_promote.elapsed() >= Duration::from_millis(500) {
                handler.queue.promote_due_retries(1000).await?;
                last_promote = Instant::now();
            }
            let mut entries = Vec::new();
            if last_reclaim.elapsed() >= reclaim_every {
                entries = handler
                    .queue
                    .claim_stale(&handler.consumer, settings.visibility_timeout, batch_size)
                    .await?;
                last_reclaim = Instant::now();
                if !entries.is_empty() {
                    tracing::info!(count = entries.len(), "took over stale entries");
                }
                let pruned = handler.queue.prune_consumers(CONSUMER_IDLE_LIMIT).await?;
                if pruned > 0 {
                    tracing::info!(pruned, "removed consumers of departed workers");
                }
            }
            if entries.is_empty() && lane > 0 {
                let lag = handler.queue.depth().await?.lag;
                if !lane_engaged(lane, batch_size, lag) {
                    // Not counted as idle: the lane is not part of the pod's load now.
                    tokio::time::sleep(LANE_RECHECK).await;
                    return Ok(BatchReport::default());
                }
            }
            if entries.is_empty() {
                let reading = Instant::now();
                entries = handler
                    .queue
                    .read_batch(&handler.consumer, batch_size, settings.block)
                    .await?;
                if entries.is_empty() {
                    handler.writer.load.idle(reading.elapsed());
                    return Ok(BatchReport::default());
                }
            }
            let report = handler.handle(&entries).await;
            if report.is_ok() {
                handler.writer.load.events(entries.len());
            }
            report
        }
        .await;
        let wait = match result {
            Ok(report) if report.outage => {
                streak = streak.saturating_add(1);
                retry::full_jitter(streak, retry::MAX_OUTAGE_PAUSE, fastrand::f64())
            }
            Ok(_) => {
                streak = 0;
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis call failed; batch left pending for a retry");
                Duration::from_secs(1)
            }
        };
        if !wait.is_zero() {
            handler.writer.load.idle(wait);
            if pause(wait, &mut stopped).await {
                break;
            }
        }
    }
    let _ = reporter.await;
}

#[cfg(test)]
mod tests {
    use super::super::{WorkerMetrics, handler};
    use super::*;
    use crate::api::WorkersSpec;
    use crate::config::SecretKey;

    #[test]
    fn lanes_follow_the_spec_within_what_the_crd_allows() {
        for (batch_size, concurrency, want) in [
            (100, 2, (100, 2)),
            (25, 1, (25, 1)),
            (100, 0, (100, 1)),
            (100, -3, (100, 1)),
            (100, 99, (100, MAX_LANES)),
            (0, 2, (1, 2)),
        ] {
            let spec = WorkersSpec {
                batch_size,
                concurrency,
                ..WorkersSpec::default()
            };
            let lanes = Lanes::of(&spec);
            assert_eq!(
                (lanes.batch_size, lanes.count),
                want,
                "batchSize {batch_size}, concurrency {concurrency}"
            );
        }
    }

    #[test]
    fn extra_lanes_engage_only_with_a_full_batch_waiting_for_each() {
        for (lane, batch, lag, want) in [
            (0, 100, 0, true),
            (1, 100, 0, false),
            (1, 100, 199, false),
            (1, 100, 200, true),
            (2, 100, 299, false),
            (2, 100, 300, true),
            (1, 25, 60, true),
        ] {
            assert_eq!(
                lane_engaged(lane, batch, lag),
                want,
                "lane {lane}, batch {batch}, lag {lag}"
            );
        }
    }

    #[tokio::test]
    async fn each_lane_has_its_own_consumer_and_load_report() {
        let mut config = crate::config::PipelineConfig {
            pipeline: crate::api::examples::pipeline("shopify.yaml"),
            secrets: Default::default(),
        };
        config
            .secrets
            .insert(SecretKey::CrmToken.to_string(), "pat-test");
        let settings = WorkerSettings::default();
        let handler = handler(&config, &settings, WorkerMetrics::new().unwrap()).unwrap();
        let first = lane(&handler, 0).unwrap();
        let second = lane(&handler, 1).unwrap();
        assert_eq!(first.consumer, handler.consumer);
        assert_eq!(second.consumer, format!("{}-1", handler.consumer));
        handler.writer.load.events(3);
        assert_eq!(first.writer.load.take(Duration::ZERO, 0).events, 3);
        handler.writer.load.events(3);
        assert_eq!(second.writer.load.take(Duration::ZERO, 0).events, 0);
    }
}
