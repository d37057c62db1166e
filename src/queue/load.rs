//! What limits a pipeline's workers, as they report it for the scaler. Each worker writes,
//! every [`REPORT_EVERY`], one field of the pipeline's load hash: over its last window, the
//! time it waited on the account's shared CRM budget, the time it waited on CRM answers,
//! the requests it sent and the events it finished. The operator adds up the fresh
//! reports: a budget the workers already wait on cannot be drained faster by more pods.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Queue, QueueError};

/// How often a worker reports its window.
pub const REPORT_EVERY: Duration = Duration::from_secs(2);

/// Reports older than this (a worker that stopped reporting) are not counted.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// The load hash expires when no worker reported for this long (every worker gone).
const HASH_TTL: Duration = Duration::from_secs(120);

/// Format marker of a report, so a later layout can be told apart.
const VERSION: &str = "1";

/// This machine's wall clock in Unix ms: the time reports carry and are judged fresh by.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One worker's report over its last window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerLoad {
    /// When the window ended (Unix ms, the worker's clock).
    pub at_ms: u64,
    pub window_ms: u64,
    /// Time spent waiting for a token of the shared CRM budget.
    pub budget_wait_ms: u64,
    /// Time spent waiting for the CRM to answer.
    pub crm_ms: u64,
    /// Time with nothing to do: waiting for events that did not come, or backing off
    /// after a CRM outage.
    pub idle_ms: u64,
    /// CRM requests sent.
    pub requests: u64,
    /// Queue entries finished (written, coalesced, dropped as stale, retried or dead-lettered).
    pub events: u64,
}

impl WorkerLoad {
    /// The hash field's value: `1 <at> <window> <budget> <crm> <idle> <requests> <events>`.
    pub fn encode(&self) -> String {
        format!(
            "{VERSION} {} {} {} {} {} {} {}",
            self.at_ms,
            self.window_ms,
            self.budget_wait_ms,
            self.crm_ms,
            self.idle_ms,
            self.requests,
            self.events
        )
    }

    /// Nothing was counted in the window: no wait, no request, no idle time, no entry.
    pub fn is_empty(&self) -> bool {
        self.budget_wait_ms == 0
            && self.crm_ms == 0
            && self.idle_ms == 0
            && self.requests == 0
            && self.events == 0
    }

    /// Whether the report is recent enough at `now_ms` to count (see [`FRESH_FOR`]).
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        let fresh = u64::try_from(FRESH_FOR.as_millis()).unwrap_or(u64::MAX);
        now_ms.saturating_sub(self.at_ms) <= fresh
    }

    /// The report a field holds; `None` for another version or a damaged value.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        if parts.next()? != VERSION {
            return None;
        }
        let mut next = || parts.next()?.parse::<u64>().ok();
        let load = Self {
            at_ms: next()?,
            window_ms: next()?,
            budget_wait_ms: next()?,
            crm_ms: next()?,
            idle_ms: next()?,
            requests: next()?,
            events: next()?,
        };
        (parts.next().is_none() && load.window_ms > 0).then_some(load)
    }
}

/// The fresh reports of a pipeline's workers, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Workers with a fresh report.
    pub workers: u64,
    pub window_ms: u64,
    pub budget_wait_ms: u64,
    pub crm_ms: u64,
    pub idle_ms: u64,
    pub requests: u64,
    pub events: u64,
}

impl LoadSummary {
    /// The reports in `fields` (the hash as HGETALL answers it) no older than
    /// [`FRESH_FOR`] at `now_ms`; `None` when no worker reported lately.
    pub fn of(fields: &BTreeMap<String, String>, now_ms: u64) -> Option<Self> {
        let mut sum = Self::default();
        for load in fields.values().filter_map(|v| WorkerLoad::decode(v)) {
            if !load.is_fresh(now_ms) {
                continue;
            }
            sum.workers += 1;
            sum.window_ms += load.window_ms;
            sum.budget_wait_ms += load.budget_wait_ms.min(load.window_ms);
            sum.crm_ms += load.crm_ms.min(load.window_ms);
            sum.idle_ms += load.idle_ms.min(load.window_ms);
            sum.requests += load.requests;
            sum.events += load.events;
        }
        (sum.workers > 0).then_some(sum)
    }

    /// Share of the workers' time spent waiting on the shared budget (0..=1).
    pub fn budget_wait_share(&self) -> f64 {
        self.budget_wait_ms as f64 / self.window_ms.max(1) as f64
    }

    /// Share of the workers' time spent waiting on CRM answers (0..=1).
    pub fn crm_share(&self) -> f64 {
        self.crm_ms as f64 / self.window_ms.max(1) as f64
    }

    /// Share of the workers' time they had work in hand (0..=1).
    pub fn busy_share(&self) -> f64 {
        1.0 - (self.idle_ms as f64 / self.window_ms.max(1) as f64).min(1.0)
    }

    /// The mean window, which turns the summed counts into rates.
    fn seconds(&self) -> f64 {
        (self.window_ms as f64 / self.workers.max(1) as f64 / 1000.0).max(0.001)
    }

    /// CRM requests per second over all workers.
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.seconds()
    }

    /// Queue entries finished per second over all workers: the drain rate.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds()
    }
}

impl Queue {
    /// Writes this worker's report (and refreshes the hash's expiry).
    pub async fn publish_load(&self, consumer: &str, load: &WorkerLoad) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(self.keys.load())
            .arg(consumer)
            .arg(load.encode())
            .ignore()
            .cmd("PEXPIRE")
            .arg(self.keys.load())
            .arg(u64::try_from(HASH_TTL.as_millis()).unwrap_or(u64::MAX))
            .ignore();
        let mut conn = self.conn.clone();
        self.bounded(pipe.query_async::<()>(&mut conn)).await?;
        Ok(())
    }

    /// Removes reports older than [`FRESH_FOR`] at `now_ms` (workers that went away without
    /// removing theirs) and this worker's own when `leaving`; answers how many went.
    pub async fn prune_load(
        &self,
        consumer: &str,
        now_ms: u64,
        leaving: bool,
    ) -> Result<usize, QueueError> {
        let mut conn = self.conn.clone();
        let fields: BTreeMap<String, String> = self
            .bounded(
                redis::cmd("HGETALL")
                    .arg(self.keys.load())
                    .query_async(&mut conn),
            )
            .await?;
        let gone: Vec<&String> = fields
            .iter()
            .filter(|(name, value)| {
                (leaving && name.as_str() == consumer)
                    || WorkerLoad::decode(value).is_none_or(|l| !l.is_fresh(now_ms))
            })
            .map(|(name, _)| name)
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        let _: i64 = self
            .bounded(
                redis::cmd("HDEL")
                    .arg(self.keys.load())
                    .arg(&gone)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(gone.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at_ms: u64, budget: u64, crm: u64, requests: u64, events: u64) -> WorkerLoad {
        WorkerLoad {
            at_ms,
            window_ms: 5_000,
            budget_wait_ms: budget,
            crm_ms: crm,
            idle_ms: 5_000 - budget - crm,
            requests,
            events,
        }
    }

    #[test]
    fn a_report_round_trips_and_damage_is_refused() {
        let r = report(1_700_000_000_000, 1_200, 3_000, 42, 4_100);
        assert_eq!(WorkerLoad::decode(&r.encode()), Some(r));
        for bad in [
            "",
            "2 1 5000 0 0 0 0 0",
            "1 1 5000 0 0 0 0",
            "1 1 5000 0 0 0 0 0 9",
            "1 1 0 0 0 0 0 0",
            "1 x 5000 0 0 0 0 0",
        ] {
            assert_eq!(WorkerLoad::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_window_is_empty_only_when_nothing_at_all_was_counted() {
        let empty = WorkerLoad {
            at_ms: 1,
            window_ms: 2_000,
            ..WorkerLoad::default()
        };
        assert!(empty.is_empty());
        for busy in [
            WorkerLoad {
                idle_ms: 1,
                ..empty
            },
            WorkerLoad { crm_ms: 1, ..empty },
            WorkerLoad {
                budget_wait_ms: 1,
                ..empty
            },
            WorkerLoad {
                requests: 1,
                ..empty
            },
            WorkerLoad { events: 1, ..empty },
        ] {
            assert!(!busy.is_empty(), "{busy:?}");
        }
    }

    #[test]
    fn the_summary_adds_fresh_reports_and_skips_stale_ones() {
        let now = 1_000_000;
        let fields: BTreeMap<String, String> = [
            ("a", report(now - 1_000, 4_000, 500, 45, 900)),
            ("b", report(now - 3_000, 3_000, 1_000, 50, 1_100)),
            ("gone", report(now - 60_000, 0, 0, 999, 999)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.encode()))
        .chain([("junk".to_string(), "nonsense".to_string())])
        .collect();
        let s = LoadSummary::of(&fields, now).unwrap();
        assert_eq!(s.workers, 2);
        assert!((s.budget_wait_share() - 0.7).abs() < 1e-9);
        assert!((s.crm_share() - 0.15).abs() < 1e-9);
        assert!((s.busy_share() - 0.85).abs() < 1e-9);
        // Two workers over 5 s windows: 95 requests and 2,000 events in 5 s.
        assert!((s.requests_per_second() - 19.0).abs() < 1e-9);
        assert!((s.events_per_second() - 400.0).abs() < 1e-9);
        assert_eq!(LoadSummary::of(&BTreeMap::new(), now), None);
        let only_stale: BTreeMap<String, String> =
            [("gone".to_string(), report(0, 0, 0, 1, 1).encode())].into();
        assert_eq!(LoadSummary::of(&only_stale, now), None);
    }

    #[test]
    fn a_wait_longer_than_its_window_counts_as_the_whole_window() {
        let mut long = report(10, 0, 0, 1, 1);
        long.budget_wait_ms = 9_000;
        let fields: BTreeMap<String, String> = [("a".to_string(), long.encode())].into();
        assert_eq!(
            LoadSummary::of(&fields, 10).unwrap().budget_wait_share(),
            1.0
        );
    }
}
