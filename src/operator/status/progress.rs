//! The poller's side of status, pure: `lastPollTime` and the backfill's progress, read from
//! what the poller records in Redis (decoded by `queue`: `QueueSample`).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::BackfillStatus;
use crate::queue::BackfillProgress;
use crate::queue::admin::QueueSample;

/// `lastPollTime`: the poller's record when Redis was read and holds one, else what status
/// had.
pub fn last_poll_time(sample: Option<&QueueSample>, stored: Option<&Time>) -> Option<Time> {
    sample
        .and_then(|s| s.last_poll)
        .map(Time)
        .or_else(|| stored.cloned())
}

/// The backfill's progress over `objects` (None when the pipeline asks for no backfill).
pub fn backfill(objects: &[String], progress: &BackfillProgress) -> BackfillStatus {
    let each: Vec<_> = objects.iter().map(|o| (o, progress.object(o))).collect();
    let imported = each
        .iter()
        .map(|(_, p)| i64::try_from(p.count).unwrap_or(i64::MAX))
        .fold(0i64, i64::saturating_add);
    let completed_objects: Vec<String> = each
        .iter()
        .filter(|(_, p)| p.done)
        .map(|(o, _)| (*o).clone())
        .collect();
    let complete = !objects.is_empty() && completed_objects.len() == objects.len();
    let finished_at = complete
        .then(|| each.iter().filter_map(|(_, p)| p.finished_at).max())
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

    use k8s_openapi::jiff::Timestamp;

    use crate::queue::ObjectProgress;

    /// What the poller would have recorded: per object, a running count or a finish.
    fn progress(objects: &[(&str, ObjectProgress)]) -> BackfillProgress {
        let mut progress = BackfillProgress::default();
        for (object, p) in objects {
            progress.set(object, p.clone());
        }
        progress
    }

    fn running(n: u64) -> ObjectProgress {
        ObjectProgress::running(n)
    }

    fn finished(n: u64, at: &str) -> ObjectProgress {
        ObjectProgress::finished(n, at.parse().unwrap())
    }

    fn objects() -> Vec<String> {
        vec!["orders".into(), "customers".into()]
    }

    #[test]
    fn progress_sums_counts_and_completes_when_every_object_is_done() {
        let running = backfill(
            &objects(),
            &progress(&[("orders", running(1200)), ("customers", running(30))]),
        );
        assert_eq!(running.imported, 1230);
        assert!(!running.complete && running.finished_at.is_none());
        let half = backfill(
            &objects(),
            &progress(&[("orders", finished(5000, "2026-11-23T10:00:00Z"))]),
        );
        assert_eq!(half.completed_objects, vec!["orders".to_string()]);
        assert!(!half.complete);
        let done = backfill(
            &objects(),
            &progress(&[
                ("orders", finished(5000, "2026-11-23T10:00:00Z")),
                ("customers", finished(70, "2026-11-23T10:05:00Z")),
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
        let sample = |objects: &[(&str, ObjectProgress)]| QueueSample {
            backfill: progress(objects),
            ..QueueSample::default()
        };
        let objects = objects();
        let stored = backfill(&objects, &progress(&[("orders", running(100))]));
        let moved = sample(&[("orders", running(900))]);
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
        let finished = sample(&[("orders", finished(950, "2026-11-23T10:00:00Z"))]);
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
            last_poll: Some("2026-11-23T10:00:00Z".parse().unwrap()),
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
        let never = QueueSample::default();
        assert_eq!(last_poll_time(Some(&never), Some(&stored)), Some(stored));
    }
}
