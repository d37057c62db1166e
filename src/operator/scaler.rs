//! How many workers a pipeline gets, pure: `ceil(lag / targetLagPerWorker)` within
//! `minReplicas..=maxReplicas`; up at once when the queue grows, down only to the highest
//! recommendation of the last `scaleDownStabilizationSeconds`, so a bursty store does not
//! make the Deployment flap (the HPA's scale-down stabilization, on queue lag).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::api::WorkersSpec;

/// The scaling bounds and target of one pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub min: i32,
    pub max: i32,
    pub target_lag: i64,
    pub stabilization: Duration,
}

impl Policy {
    pub fn of(spec: &WorkersSpec) -> Self {
        Self {
            min: spec.min_replicas.max(0),
            max: spec.max_replicas.max(spec.min_replicas.max(0)),
            target_lag: spec.target_lag_per_worker.max(1),
            stabilization: Duration::from_secs(
                u64::try_from(spec.scale_down_stabilization_seconds).unwrap_or(0),
            ),
        }
    }

    /// Workers the lag alone asks for.
    pub fn recommend(&self, lag: u64) -> i32 {
        let lag = i64::try_from(lag).unwrap_or(i64::MAX);
        let wanted = lag.saturating_add(self.target_lag - 1) / self.target_lag;
        i32::try_from(wanted)
            .unwrap_or(i32::MAX)
            .clamp(self.min, self.max)
    }
}

/// Recent recommendations of one pipeline (kept in memory by the leader).
#[derive(Clone, Debug, Default)]
pub struct History(VecDeque<(Instant, i32)>);

impl History {
    /// Records `recommendation` at `now` and answers the replicas to run: the
    /// recommendation when it is not lower than `current`, else the highest recommendation
    /// within the stabilization window (never above `current`).
    pub fn decide(&mut self, now: Instant, recommendation: i32, current: i32, p: &Policy) -> i32 {
        self.0.push_back((now, recommendation));
        while let Some((at, _)) = self.0.front() {
            if now.duration_since(*at) > p.stabilization {
                self.0.pop_front();
            } else {
                break;
            }
        }
        if recommendation >= current {
            return recommendation;
        }
        let highest = self
            .0
            .iter()
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(recommendation);
        highest.min(current).clamp(p.min, p.max)
    }
}

/// What the scaler decided this reconcile, for the `ScalingActive` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Paused: no workers.
    Paused,
    /// Scaled from a fresh lag sample.
    FromLag { desired: i32, policy: Policy },
    /// No lag could be read (Secret or Redis): the replicas stay as they were.
    LagUnknown { kept: i32 },
}

impl Scaling {
    pub fn replicas(&self) -> i32 {
        match self {
            Self::Paused => 0,
            Self::FromLag { desired, .. } => *desired,
            Self::LagUnknown { kept } => *kept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            min: 1,
            max: 10,
            target_lag: 500,
            stabilization: Duration::from_secs(300),
        }
    }

    #[test]
    fn recommends_ceil_of_lag_over_target_within_bounds() {
        let p = policy();
        assert_eq!(p.recommend(0), 1);
        assert_eq!(p.recommend(500), 1);
        assert_eq!(p.recommend(501), 2);
        assert_eq!(p.recommend(4_200), 9);
        assert_eq!(p.recommend(1_000_000), 10);
        assert_eq!(p.recommend(u64::MAX), 10);
        let zero_min = Policy { min: 0, ..p };
        assert_eq!(zero_min.recommend(0), 0);
    }

    #[test]
    fn scales_up_at_once_and_down_only_after_the_window() {
        let p = policy();
        let t0 = Instant::now();
        let mut h = History::default();
        assert_eq!(h.decide(t0, 8, 1, &p), 8, "a spike scales up at once");
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(
            h.decide(at(60), 2, 8, &p),
            8,
            "lag fell, but within the window"
        );
        assert_eq!(h.decide(at(200), 3, 8, &p), 8);
        assert_eq!(h.decide(at(301), 2, 8, &p), 3, "the 8 left the window");
        assert_eq!(
            h.decide(at(499), 2, 3, &p),
            3,
            "the 3 at 200 s is still in it"
        );
        assert_eq!(h.decide(at(502), 2, 3, &p), 2);
    }

    #[test]
    fn without_stabilization_it_follows_the_lag() {
        let p = Policy {
            stabilization: Duration::ZERO,
            ..policy()
        };
        let t0 = Instant::now();
        let mut h = History::default();
        assert_eq!(h.decide(t0, 6, 1, &p), 6);
        assert_eq!(h.decide(t0 + Duration::from_secs(1), 2, 6, &p), 2);
    }

    #[test]
    fn policy_reads_the_spec_and_repairs_nonsense() {
        let spec = WorkersSpec {
            min_replicas: 3,
            max_replicas: 2,
            target_lag_per_worker: 0,
            ..WorkersSpec::default()
        };
        let p = Policy::of(&spec);
        assert_eq!((p.min, p.max, p.target_lag), (3, 3, 1));
    }
}
