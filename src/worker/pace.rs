//! Follows HubSpot's own word on the account's limits: after each call the writer looks at
//! the rate-limit headers the client saw, and when they state a lower limit than declared
//! (or the day's remainder runs low) publishes the slower pace for every worker of the
//! account, and records the stated figures for the pipeline's status.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::write::CrmWriter;
use crate::connectors::crm::hubspot::limits::{RateHeaders, pace};
use crate::queue::{QueueError, RateBudget, StatedLimits};

/// Republish at least this often while answers keep coming, so the daily remainder and
/// the record's expiry stay fresh.
const REFRESH: Duration = Duration::from_secs(30);

/// What this worker published last: the stated interval limit, the pace, and when.
type Last = (Option<(u32, Duration)>, RateBudget, Instant);

/// What this worker published last, shared by clones of its writer.
#[derive(Debug, Default, Clone)]
pub struct Published(Arc<Mutex<Option<Last>>>);

impl CrmWriter {
    /// Publishes the pace when HubSpot's stated limits changed it, or to refresh it.
    pub(super) async fn follow_stated_limits(&self) -> Result<(), QueueError> {
        let Some(stated) = self.client.stated_limits() else {
            return Ok(());
        };
        self.show(&stated);
        let paced = pace(self.budget, &stated, Timestamp::now());
        let interval = stated.interval_limit();
        let due = {
            let last = self.published.0.lock().unwrap_or_else(|e| e.into_inner());
            match *last {
                None => true,
                Some((i, p, at)) => i != interval || p != paced || at.elapsed() >= REFRESH,
            }
        };
        if !due {
            return Ok(());
        }
        let record = StatedLimits {
            max: stated.max.map(u64::from),
            interval_ms: stated.interval_ms,
            daily: stated.daily,
            daily_remaining: stated.daily_remaining,
            observed_at: Some(Timestamp::now().to_string()),
        };
        self.queue
            .publish_crm_limits(&self.bucket, self.budget, paced, &record)
            .await?;
        if paced != self.budget {
            tracing::info!(
                stated_max = ?stated.max,
                stated_interval_ms = ?stated.interval_ms,
                daily_remaining = ?stated.daily_remaining,
                pace_per_second = 1.0 / paced.emission.as_secs_f64().max(1e-9),
                "pacing the account below its declared budget, as HubSpot's headers state"
            );
        }
        *self.published.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((interval, paced, Instant::now()));
        Ok(())
    }

    fn show(&self, stated: &RateHeaders) {
        let m = &self.metrics;
        if let Some((max, interval)) = stated.interval_limit() {
            m.observed_limit
                .with_label_values(&["interval"])
                .set(i64::from(max));
            m.observed_interval.set(interval.as_secs_f64());
        }
        if let Some(daily) = stated.daily {
            m.observed_limit
                .with_label_values(&["daily"])
                .set(i64::try_from(daily).unwrap_or(i64::MAX));
        }
        if let Some(left) = stated.daily_remaining {
            m.daily_remaining
                .set(i64::try_from(left).unwrap_or(i64::MAX));
        }
    }
}
