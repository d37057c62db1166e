//! The poller's side of status, pure: `lastPollTime` and the backfill's progress, read from
//! what the poller records in Redis.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::BackfillStatus;
use crate::queue::admin::QueueSample;

/// `lastPollTime`: the poller's record when Redis was read and holds one, else what status
/// had.
pub fn last_poll_time(sample: Option<&QueueSample>, stored: Option<&Time>) -> Option<Time> {
    sample
        .and_then(|s| s.last_poll.as_deref())
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(Time)
        .or_else(|| stored.cloned())
}

/// The backfill's progress over `objects` (None when the pipeline asks for no backfill).
pub fn backfill(objects: &[String], progress: &BTreeMap<String, String>) -> BackfillStatus {
    let imported = objects
        .iter()
        .filter_map(|o| progress.get(&format!("{o}:count"))?.parse::<i64>().ok())
        .sum();
    let completed_objects: Vec<String> = objects
        .iter()
        .filter(|o| progress.get(&format!("{o}:done")).is_some_and(|d| d == "1"))
        .cloned()
        .collect();
    let complete = !objects.is_empty() && completed_objects.len() == objects.len();
    let finished_at = complete
        .then(|| {
            objects
                .iter()
                .filter_map(|o| {
                    progress
                        .get(&format!("{o}:finishedAt"))?
                        .parse::<Timestamp>()
                        .ok()
                })
                .max()
        })
        .flatten()
        .map(Time);
    BackfillStatus {
        imported,
        completed_objects,
        complete,
        finished_at,
    }
}

/// The backfill status to store: the fresh one when it moved and either an object type
/// finished or the stored one is at least `every` old (`written_at`), else the stored one,
/// so a running import writes status at a bounded rate.
pub fn backfill_status(
    objects: Option<&[String]>,
    sample: Option<&QueueSample>,
    stored: Option<&BackfillStatus>,
    stored_at: Option<&Time>,
    now: &Time,
    every: Duration,
) -> Option<BackfillStatus> {
    let objects = objects?;
    let Some(sample) = sample else {
        return stored.cloned();
    };
    let fresh = backfill(objects, &sample.backfill);
    let Some(stored) = stored else {
        return Some(fresh);
    };
    let milestone = fresh.completed_objects != stored.completed_objects;
    let recent = stored_at.is_some_and(|t| now.0.duration_since(t.0).unsigned_abs() < every);
    if fresh == *stored || (recent && !milestone) {
        Some(stored.clone())
    } else {
        Some(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn objects() -> Vec<String> {
        vec!["orders".into(), "customers".into()]
    }

    #[test]
    fn progress_sums_counts_and_completes_when_every_object_is_done() {
        let running = backfill(
            &objects(),
            &progress(&[("orders:count", "1200"), ("customers:count", "30")]),
        );
        assert_eq!(running.imported, 1230);
        assert!(!running.complete && running.finished_at.is_none());
        let half = backfill(
            &objects(),
            &progress(&[
                ("orders:count", "5000"),
                ("orders:done", "1"),
                ("orders:finishedAt", "2026-11-23T10:00:00Z"),
            ]),
        );
        assert_eq!(half.completed_objects, vec!["orders".to_string()]);
        assert!(!half.complete);
        let done = backfill(
            &objects(),
            &progress(&[
                ("orders:count", "5000"),
                ("orders:done", "1"),
                ("orders:finishedAt", "2026-11-23T10:00:00Z"),
                ("customers:count", "70"),
                ("customers:done", "1"),
                ("customers:finishedAt", "2026-11-23T10:05:00Z"),
            ]),
        );
        assert!(done.complete);
        assert_eq!(done.imported, 5070);
        assert_eq!(
            done.finished_at.unwrap().0.to_string(),
            "2026-11-23T10:05:00Z"
        );
    }

    #[test]
    fn a_running_import_writes_at_a_bounded_rate_but_milestones_at_once() {
        let t = |s: i64| Time(Timestamp::from_second(1_800_000_000 + s).unwrap());
        let sample = |pairs: &[(&str, &str)]| QueueSample {
            backfill: progress(pairs),
            ..QueueSample::default()
        };
        let objects = objects();
        let stored = backfill(&objects, &progress(&[("orders:count", "100")]));
        let moved = sample(&[("orders:count", "900")]);
        let every = Duration::from_secs(30);
        let keep = backfill_status(
            Some(&objects),
            Some(&moved),
            Some(&stored),
            Some(&t(0)),
            &t(5),
            every,
        );
        assert_eq!(
            keep.unwrap().imported,
            100,
            "within the interval: unchanged"
        );
        let later = backfill_status(
            Some(&objects),
            Some(&moved),
            Some(&stored),
            Some(&t(0)),
            &t(31),
            every,
        );
        assert_eq!(later.unwrap().imported, 900);
        let finished = sample(&[("orders:count", "950"), ("orders:done", "1")]);
        let milestone = backfill_status(
            Some(&objects),
            Some(&finished),
            Some(&stored),
            Some(&t(0)),
            &t(5),
            every,
        );
        assert_eq!(
            milestone.unwrap().completed_objects,
            vec!["orders".to_string()]
        );
        assert_eq!(
            backfill_status(None, Some(&moved), Some(&stored), None, &t(5), every),
            None
        );
        assert_eq!(
            backfill_status(Some(&objects), None, Some(&stored), None, &t(5), every),
            Some(stored)
        );
    }

    #[test]
    fn last_poll_time_comes_from_redis_or_stays() {
        let stored = Time("2026-11-23T09:00:00Z".parse().unwrap());
        let sample = QueueSample {
            last_poll: Some("2026-11-23T10:00:00Z".into()),
            ..QueueSample::default()
        };
        assert_eq!(
            last_poll_time(Some(&sample), Some(&stored))
                .unwrap()
                .0
                .to_string(),
            "2026-11-23T10:00:00Z"
        );
        assert_eq!(last_poll_time(None, Some(&stored)), Some(stored.clone()));
        let garbage = QueueSample {
            last_poll: Some("yesterday".into()),
            ..QueueSample::default()
        };
        assert_eq!(last_poll_time(Some(&garbage), Some(&stored)), Some(stored));
    }
}
