//! What a storm did: the counts, the receiver's answer times, and per order the newest
//! version acknowledged (and, with a store, the newest the store holds), which is what must
//! reach the CRM.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The storm's summary, printed as one JSON line.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Deliveries planned (copies not counted), dropped ones included.
    pub planned: u64,
    /// Requests sent, copies included.
    pub sent: u64,
    /// Requests answered 2xx.
    pub acknowledged: u64,
    /// Non-2xx answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer (connection refused, timeout).
    pub errors: u64,
    /// Deliveries not sent on purpose (`--dropped`): the store holds them, the poller must
    /// bring them in.
    pub dropped: u64,
    /// Writes to the store simulator that failed (`--store`); each one is an order version
    /// the poller cannot find, so a run with any is not a fair test.
    pub store_errors: u64,
    pub seconds: f64,
    /// Requests per second achieved.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Order id → the newest version a 2xx was given for: what must reach the CRM.
    pub newest_acknowledged: BTreeMap<u64, u32>,
    /// Order id → when (Unix ms) the first acknowledged delivery of that newest version was
    /// sent: with the CRM's write times, the end-to-end latency.
    pub newest_sent_at_ms: BTreeMap<u64, u64>,
    /// With `--store`: order id → the newest version the store holds, dropped deliveries
    /// included: what must reach the CRM once the poller has run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub newest_stored: BTreeMap<u64, u32>,
    /// With `--crm` and `--settle`: orders in the CRM at their newest version when the storm
    /// stopped watching, and how long after the last send that was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<Settled>,
}

/// How far the CRM had caught up when the storm stopped watching.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Settled {
    pub synced: u64,
    pub expected: u64,
    /// From the last send to the moment every expected order was synced (or the storm gave
    /// up waiting).
    pub seconds: f64,
}

impl Summary {
    /// Order id → the version that must end in the CRM: what the store holds when the storm
    /// wrote to one, otherwise the newest acknowledged.
    pub fn expected(&self) -> &BTreeMap<u64, u32> {
        if self.newest_stored.is_empty() {
            &self.newest_acknowledged
        } else {
            &self.newest_stored
        }
    }

    /// Orders whose newest stored version no acknowledged delivery carried (it was
    /// dropped, or only older ones got a 2xx): only the poller can bring those in.
    pub fn only_polled(&self) -> Vec<u64> {
        self.newest_stored
            .iter()
            .filter(|(id, v)| self.newest_acknowledged.get(id).is_none_or(|a| a < *v))
            .map(|(id, _)| *id)
            .collect()
    }
}

#[derive(Default)]
pub(super) struct Tally {
    pub summary: Summary,
    pub latencies: Vec<f64>,
}

/// Counts one answer; `sent` is when the request went (Unix ms) and how long it took.
pub(super) fn record(
    tally: &Mutex<Tally>,
    (id, version): (u64, u32),
    status: Option<u16>,
    (sent_at, took): (u64, Duration),
) {
    let mut t = crate::sim::lock(tally);
    t.summary.sent += 1;
    match status {
        Some(s) if (200..300).contains(&s) => {
            t.summary.acknowledged += 1;
            t.latencies.push(took.as_secs_f64() * 1000.0);
            let newest = *t.summary.newest_acknowledged.entry(id).or_insert(version);
            if version > newest {
                t.summary.newest_acknowledged.insert(id, version);
                t.summary.newest_sent_at_ms.insert(id, sent_at);
            } else if version == newest {
                let first = t.summary.newest_sent_at_ms.entry(id).or_insert(sent_at);
                *first = (*first).min(sent_at);
            }
        }
        Some(s) => *t.summary.statuses.entry(s).or_insert(0) += 1,
        None => t.summary.errors += 1,
    }
}

/// Counts one write to the store: the version it holds now, or a failure.
pub(super) fn record_stored(tally: &Mutex<Tally>, (id, version): (u64, u32), stored: bool) {
    let mut t = crate::sim::lock(tally);
    if stored {
        let newest = t.summary.newest_stored.entry(id).or_insert(version);
        *newest = (*newest).max(version);
    } else {
        t.summary.store_errors += 1;
    }
}

pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_figures() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn acknowledgements_keep_each_orders_newest_version() {
        let tally = Mutex::new(Tally::default());
        let ms = Duration::from_millis(3);
        record(&tally, (7, 2), Some(200), (1_000, ms));
        record(&tally, (7, 2), Some(200), (900, ms));
        record(&tally, (7, 1), Some(200), (800, ms));
        record(&tally, (7, 3), Some(503), (1_100, ms));
        record(&tally, (8, 1), None, (1_200, ms));
        let s = &tally.lock().unwrap().summary;
        assert_eq!(s.newest_acknowledged, BTreeMap::from([(7, 2)]));
        assert_eq!(
            s.newest_sent_at_ms,
            BTreeMap::from([(7, 900)]),
            "the first send of the newest version"
        );
        assert_eq!((s.sent, s.acknowledged, s.errors), (5, 3, 1));
        assert_eq!(s.statuses, BTreeMap::from([(503, 1)]));
        assert_eq!(s.expected(), &BTreeMap::from([(7, 2)]));
    }

    #[test]
    fn with_a_store_the_stored_versions_are_what_must_land() {
        let tally = Mutex::new(Tally::default());
        record(&tally, (7, 1), Some(200), (1, Duration::ZERO));
        record_stored(&tally, (7, 3), true);
        record_stored(&tally, (7, 2), true);
        record_stored(&tally, (8, 1), false);
        let s = &tally.lock().unwrap().summary;
        assert_eq!(
            s.expected(),
            &BTreeMap::from([(7, 3)]),
            "newest stored, not acked"
        );
        assert_eq!(s.store_errors, 1);
    }

    #[test]
    fn only_the_poll_brings_versions_no_acknowledged_delivery_carried() {
        let tally = Mutex::new(Tally::default());
        for (id, acked, stored) in [(1, Some(2), 2), (2, Some(1), 3), (3, None, 1)] {
            if let Some(v) = acked {
                record(&tally, (id, v), Some(200), (1, Duration::ZERO));
            }
            record_stored(&tally, (id, stored), true);
        }
        // A non-2xx answer is no acknowledgement.
        record(&tally, (3, 1), Some(503), (1, Duration::ZERO));
        let s = &tally.lock().unwrap().summary;
        assert_eq!(s.only_polled(), vec![2, 3]);
        assert!(
            Summary::default().only_polled().is_empty(),
            "no store, none"
        );
    }

    #[test]
    fn the_printed_summary_reads_back() {
        let tally = Mutex::new(Tally::default());
        record(&tally, (7, 1), Some(200), (1, Duration::ZERO));
        record_stored(&tally, (7, 2), true);
        let s = tally.lock().unwrap().summary.clone();
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.only_polled(), vec![7]);
    }
}
