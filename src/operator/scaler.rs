//! How many workers a pipeline gets, pure.
//!
//! The lag asks for `ceil(lag / targetLagPerWorker)` within `minReplicas..=maxReplicas`.
//! Up is at once but at most ×2 or +4 pods per step (the HPA's default scale-up policy),
//! and only while more workers would drain faster: when the workers' own reports say the
//! account's CRM budget is saturated, the scaler holds (`RateLimited`), because pods added
//! then only queue for the same tokens. Down waits until the lag has asked for fewer
//! workers for a whole `scaleDownStabilizationSeconds`, then goes to the highest number it
//! asked for in that time; the pending scale-down is kept in `status.workers`, so a new
//! leader after a failover continues the same window, and there is at most one scale-down
//! per window, so a bursty store does not make the Deployment flap.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::duration::parse_duration;
use crate::api::{PendingScaleDown, PollingSpec, SyncPipelineSpec, WorkersSpec, WorkersStatus};
use crate::connectors::crm::hubspot::limits::{RateHeaders, pace};
use crate::queue::admin::QueueSample;
use crate::queue::{LoadSummary, RateBudget};

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
        self.recommend_unbounded(lag).clamp(self.min, self.max)
    }

    /// `ceil(lag / targetLagPerWorker)`, before the bounds.
    fn recommend_unbounded(&self, lag: u64) -> i32 {
        let lag = i64::try_from(lag).unwrap_or(i64::MAX);
        let wanted = lag.saturating_add(self.target_lag - 1) / self.target_lag;
        i32::try_from(wanted).unwrap_or(i32::MAX)
    }

    /// The most workers one step may go to from `current`: double, or four more.
    pub fn step_cap(&self, current: i32) -> i32 {
        current
            .saturating_mul(2)
            .max(current.saturating_add(4))
            .min(self.max)
    }
}

/// What limits the workers, from their load reports, in per mille so the decision
/// compares exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Workers with a fresh report.
    pub reporting: u32,
    /// Share of the workers' time they had work in hand (not waiting for events, not
    /// backing off after an outage).
    pub busy_permille: u32,
    /// Share of the workers' time spent waiting for a token of the CRM budget.
    pub wait_permille: u32,
    /// The pipeline's requests per second as a share of what the budget allows.
    pub used_permille: u32,
    /// What the budget allows, in requests per 10 s (for messages).
    pub allowed_per_10s: u32,
}

/// Workers waiting on the budget this much of their time are limited by it, not by their
/// number: a fast CRM lets one worker spend most of its time there.
const SATURATED_WAIT_PERMILLE: u32 = 200;
/// A pipeline using this much of its budget has no room for another worker's requests.
const SATURATED_USE_PERMILLE: u32 = 900;
/// Workers busy less than this share of their time are not what holds the queue back (the
/// report predates a spike, or they back off from an outage): more of them would not help.
const BUSY_PERMILLE: u32 = 500;

fn permille(x: f64) -> u32 {
    (x * 1000.0).round().clamp(0.0, 1_000_000.0) as u32
}

impl Load {
    /// From the summed reports and the budget's sustained rate (`spec.crmRateLimit`, or
    /// HubSpot's stated limit when lower).
    pub fn of(load: &LoadSummary, budget: RateBudget) -> Self {
        let allowed = 1.0 / budget.emission.as_secs_f64().max(1e-6);
        Self {
            reporting: u32::try_from(load.workers).unwrap_or(u32::MAX),
            busy_permille: permille(load.busy_share()),
            wait_permille: permille(load.budget_wait_share()),
            used_permille: permille(load.requests_per_second() / allowed),
            allowed_per_10s: (allowed * 10.0).round() as u32,
        }
    }

    pub fn saturated(&self) -> bool {
        self.wait_permille >= SATURATED_WAIT_PERMILLE
            || self.used_permille >= SATURATED_USE_PERMILLE
    }

    pub fn busy(&self) -> bool {
        self.busy_permille >= BUSY_PERMILLE
    }
}

/// Why the decision is what it is, for the `ScalingActive` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The lag's recommendation, within the bounds.
    OnLag,
    /// The lag asks for more than `maxReplicas`.
    MaxReplicas,
    /// The lag asks for more, but one step goes at most ×2 or +4.
    StepLimited,
    /// The lag asks for more, but the CRM budget is saturated.
    RateLimited(Load),
    /// The lag asks for more, but the workers report having little to do: their report
    /// predates the spike (the next one, within seconds, decides), or they back off from
    /// a CRM outage that more workers would not end.
    WorkersIdle(Load),
    /// The lag asks for fewer; the stabilization window has not passed yet.
    Stabilizing,
    /// The lag asks for more, but the workers of the last step do not all report yet:
    /// the next step waits to see what the last one did to the budget.
    WaitingForWorkers(Load),
    /// Scaled to zero and the reconciliation poll is due: one worker runs it (the poller
    /// lives in the worker pods).
    PollDue,
}

/// What the scaler decided for one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub desired: i32,
    /// What the lag alone asked for.
    pub recommended: i32,
    pub lag: u64,
    pub why: Why,
    /// The scale-down waiting for its window, to keep in status.
    pub pending: Option<PendingScaleDown>,
    /// What the workers reported, if they did.
    pub load: Option<Load>,
}

/// Decides the replicas from `lag`, the replicas decided before (`current`, within the
/// bounds), the budget as the workers report it, and the pending scale-down kept in status.
pub fn decide(
    p: &Policy,
    lag: u64,
    current: i32,
    load: Option<Load>,
    pending: Option<&PendingScaleDown>,
    now: Timestamp,
) -> Decision {
    decide_with_poll(p, lag, current, load, pending, false, now)
}

/// `decide`, when `poll_due` also asks for one worker (the poller runs in worker pods, so
/// a pipeline scaled to zero wakes one for each poll cycle).
pub fn decide_with_poll(
    p: &Policy,
    lag: u64,
    current: i32,
    load: Option<Load>,
    pending: Option<&PendingScaleDown>,
    poll_due: bool,
    now: Timestamp,
) -> Decision {
    let current = current.clamp(p.min, p.max);
    let from_lag = p.recommend(lag);
    let recommended = if poll_due {
        from_lag.max(1.min(p.max))
    } else {
        from_lag
    };
    let decision = |desired, why, pending| Decision {
        desired,
        recommended,
        lag,
        why,
        pending,
        load,
    };
    if recommended > current {
        // From zero there is nobody to report: the first event wakes a worker.
        if let Some(load) = load.filter(|_| current > 0) {
            if load.saturated() {
                return decision(current, Why::RateLimited(load), None);
            }
            if !load.busy() {
                return decision(current, Why::WorkersIdle(load), None);
            }
            if load.reporting < u32::try_from(current).unwrap_or(0) {
                return decision(current, Why::WaitingForWorkers(load), None);
            }
        }
        let desired = recommended.min(p.step_cap(current));
        let why = if recommended > from_lag {
            Why::PollDue
        } else if desired < recommended {
            Why::StepLimited
        } else if desired >= p.max && p.max > p.min {
            Why::MaxReplicas
        } else {
            Why::OnLag
        };
        return decision(desired, why, None);
    }
    if recommended == current {
        let why = if recommended > from_lag {
            Why::PollDue
        } else if current >= p.max && p.max > p.min && p.recommend_unbounded(lag) > p.max {
            Why::MaxReplicas
        } else {
            Why::OnLag
        };
        return decision(current, why, None);
    }
    let held = match pending {
        Some(held) => PendingScaleDown {
            replicas: held.replicas.max(recommended).min(current),
            since: held.since.clone(),
        },
        None => PendingScaleDown {
            replicas: recommended,
            since: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
        },
    };
    // A `since` in the future (clocks of two leaders apart) counts as just now.
    let waited = Duration::try_from(now.duration_since(held.since.0)).unwrap_or_default();
    if waited >= p.stabilization {
        decision(held.replicas.clamp(p.min, p.max), Why::OnLag, None)
    } else {
        decision(current, Why::Stabilizing, Some(held))
    }
}

/// The scaling of a pipeline from its spec, what status holds (the replicas decided last
/// and the pending scale-down) and this reconcile's queue sample.
pub fn scale(
    spec: &SyncPipelineSpec,
    stored: Option<&WorkersStatus>,
    paused: bool,
    sample: Option<&QueueSample>,
    now: Timestamp,
) -> Scaling {
    if paused {
        return Scaling::Paused;
    }
    let policy = Policy::of(&spec.workers);
    let current = stored
        .map(|w| w.desired_replicas)
        .unwrap_or(policy.min)
        .clamp(policy.min, policy.max);
    let Some(sample) = sample else {
        return Scaling::LagUnknown { kept: current };
    };
    let stated = sample
        .crm_limits
        .as_ref()
        .map(RateHeaders::from)
        .unwrap_or_default();
    let rate = pace(RateBudget::declared(&spec.crm_rate_limit), &stated, now);
    let load = sample.load.as_ref().map(|l| Load::of(l, rate));
    let pending = stored.and_then(|w| w.pending_scale_down.as_ref());
    let poll_due = policy.min == 0 && poll_due(&spec.polling, sample.last_poll, now);
    Scaling::FromLag {
        decision: decide_with_poll(&policy, sample.lag, current, load, pending, poll_due, now),
        policy,
    }
}

/// Whether a poll cycle is due: never polled, or the last finished a whole interval ago.
/// An unreadable interval (refused at admission anyway) counts as the default 5 minutes.
pub fn poll_due(polling: &PollingSpec, last_poll: Option<Timestamp>, now: Timestamp) -> bool {
    let interval = parse_duration(&polling.interval).unwrap_or(Duration::from_secs(300));
    match last_poll {
        None => true,
        Some(at) => Duration::try_from(now.duration_since(at)).unwrap_or_default() >= interval,
    }
}

/// What the scaler did this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Paused: no workers.
    Paused,
    /// Decided from a fresh lag sample.
    FromLag { decision: Decision, policy: Policy },
    /// No lag could be read (Secret or Redis): the replicas stay as they were.
    LagUnknown { kept: i32 },
}

impl Scaling {
    pub fn replicas(&self) -> i32 {
        match self {
            Self::Paused => 0,
            Self::FromLag { decision, .. } => decision.desired,
            Self::LagUnknown { kept } => *kept,
        }
    }

    /// The scale-down to keep in status (kept as it was while the lag is unknown).
    pub fn pending<'a>(
        &'a self,
        stored: Option<&'a PendingScaleDown>,
    ) -> Option<&'a PendingScaleDown> {
        match self {
            Self::Paused => None,
            Self::FromLag { decision, .. } => decision.pending.as_ref(),
            Self::LagUnknown { .. } => stored,
        }
    }
}

/// The Event of a change from `from` replicas, if the replicas changed: its reason
/// (`ScaledUp`, `ScaledDown`) and a note with from → to, the lag and the rule.
pub fn scale_event(from: i32, scaling: &Scaling) -> Option<(&'static str, String)> {
    let to = scaling.replicas();
    if to == from {
        return None;
    }
    let reason = if to > from { "ScaledUp" } else { "ScaledDown" };
    let note = match scaling {
        Scaling::Paused => format!("workers {from} → {to}: the pipeline is Paused"),
        Scaling::FromLag { decision, policy } => format!(
            "workers {from} → {to}: lag {} (one worker per {} events waiting, between {} and {})",
            decision.lag, policy.target_lag, policy.min, policy.max
        ),
        Scaling::LagUnknown { .. } => format!("workers {from} → {to}: within the new bounds"),
    };
    Some((reason, note))
}

#[cfg(test)]
mod tests;
