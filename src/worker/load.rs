//! This worker's share of the pipeline's load report: where its time went (waiting on the
//! shared CRM budget, waiting on CRM answers) and what it got done, counted as it works and
//! published every `LOAD_REPORT_EVERY` for the operator's scaler (see `queue::load`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::queue::{LOAD_REPORT_EVERY, Queue, WorkerLoad, unix_ms};

/// Counters since the last report, shared by clones of the writer and the consume loop.
#[derive(Debug, Default, Clone)]
pub struct LoadMeter(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    budget_wait_us: AtomicU64,
    crm_us: AtomicU64,
    idle_us: AtomicU64,
    requests: AtomicU64,
    events: AtomicU64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl LoadMeter {
    pub fn budget_wait(&self, d: Duration) {
        self.0
            .budget_wait_us
            .fetch_add(micros(d), Ordering::Relaxed);
    }

    /// One CRM request that took `d` to answer.
    pub fn crm_call(&self, d: Duration) {
        self.0.crm_us.fetch_add(micros(d), Ordering::Relaxed);
        self.0.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Time with nothing to do (an empty read, an outage back-off).
    pub fn idle(&self, d: Duration) {
        self.0.idle_us.fetch_add(micros(d), Ordering::Relaxed);
    }

    pub fn events(&self, n: usize) {
        self.0
            .events
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The report of the window that ends now, `window` long; the counters restart.
    pub fn take(&self, window: Duration, at_ms: u64) -> WorkerLoad {
        let c = &self.0;
        WorkerLoad {
            at_ms,
            window_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1),
            budget_wait_ms: c.budget_wait_us.swap(0, Ordering::Relaxed) / 1000,
            crm_ms: c.crm_us.swap(0, Ordering::Relaxed) / 1000,
            idle_ms: c.idle_us.swap(0, Ordering::Relaxed) / 1000,
            requests: c.requests.swap(0, Ordering::Relaxed),
            events: c.events.swap(0, Ordering::Relaxed),
        }
    }
}

/// Publishes the meter's window every `LOAD_REPORT_EVERY` until shutdown, then removes this
/// worker's report so the scaler stops counting it. A failed publish is logged and the
/// window is lost (the next one is counted): the report is advice, never worth stopping for.
pub async fn report(
    queue: Queue,
    consumer: String,
    meter: LoadMeter,
    mut stopped: watch::Receiver<bool>,
) {
    let mut since = Instant::now();
    let mut round = 0u32;
    loop {
        if crate::shutdown::pause(LOAD_REPORT_EVERY, &mut stopped).await {
            break;
        }
        let load = meter.take(since.elapsed(), unix_ms());
        since = Instant::now();
        if load.is_empty() {
            // A lane that sat out the whole window (see `worker::lane_engaged`) is not part
            // of the pod's load: its report goes, so the scaler counts only what works.
            let _ = queue.prune_load(&consumer, unix_ms(), true).await;
            continue;
        }
        if let Err(e) = queue.publish_load(&consumer, &load).await {
            tracing::debug!(error = %e, "could not publish the load report");
        }
        round = round.wrapping_add(1);
        if round.is_multiple_of(12) {
            let _ = queue.prune_load(&consumer, unix_ms(), false).await;
        }
    }
    if let Err(e) = queue.prune_load(&consumer, unix_ms(), true).await {
        tracing::debug!(error = %e, "could not remove the load report");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reports_what_was_counted_and_restarts() {
        let m = LoadMeter::default();
        m.budget_wait(Duration::from_millis(1_500));
        m.budget_wait(Duration::from_micros(500));
        m.crm_call(Duration::from_millis(300));
        m.crm_call(Duration::from_millis(200));
        m.idle(Duration::from_millis(2_000));
        m.events(40);
        let clone = m.clone();
        clone.events(2);
        let r = m.take(Duration::from_secs(5), 77);
        assert_eq!(
            r,
            WorkerLoad {
                at_ms: 77,
                window_ms: 5_000,
                budget_wait_ms: 1_500,
                crm_ms: 500,
                idle_ms: 2_000,
                requests: 2,
                events: 42,
            }
        );
        assert_eq!(m.take(Duration::ZERO, 78).events, 0);
        assert_eq!(m.take(Duration::ZERO, 78).window_ms, 1);
    }
}
