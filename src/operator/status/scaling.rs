//! `ScalingActive`: what the worker scaler decided and what holds it, in words.

use super::{Cond, reason};
use crate::api::condition;
use crate::operator::scaler::{Decision, Policy, Scaling, Why};

/// `ScalingActive`: whether workers follow the queue lag now. The message names the
/// decision, the policy and what holds it, never the live lag (the budget figures are
/// rounded to tens of percent), so a moving queue rewrites it rarely.
pub(super) fn condition(scaling: &Scaling) -> Cond {
    let (holds, reason, message) = match scaling {
        Scaling::Paused => (
            false,
            reason::PAUSED,
            "the pipeline is Paused: no workers run".to_string(),
        ),
        Scaling::FromLag { decision, policy } => {
            let (reason, message) = from_lag(decision, policy);
            (true, reason, message)
        }
        Scaling::LagUnknown { kept } => (
            false,
            reason::LAG_UNKNOWN,
            format!("the queue lag cannot be read (Secret or Redis); workers stay at {kept}"),
        ),
    };
    Cond {
        type_: condition::SCALING_ACTIVE,
        holds,
        reason,
        message,
    }
}

fn tens_of_percent(permille: u32) -> u32 {
    (permille + 50) / 100 * 10
}

fn from_lag(d: &Decision, policy: &Policy) -> (&'static str, String) {
    let rule = format!(
        "one per {} events waiting, between {} and {}",
        policy.target_lag, policy.min, policy.max
    );
    let desired = d.desired;
    match d.why {
        Why::OnLag => (
            reason::SCALING_ON_LAG,
            format!("{desired} worker(s) for the queue lag: {rule}"),
        ),
        Why::MaxReplicas => (
            reason::MAX_REPLICAS_REACHED,
            format!("{desired} worker(s), the most allowed: {rule}"),
        ),
        Why::StepLimited => (
            reason::STEP_LIMITED,
            format!(
                "{desired} worker(s) this step (at most double or four more per step) on the way to {}: {rule}",
                d.recommended
            ),
        ),
        Why::Stabilizing => (
            reason::STABILIZING,
            format!(
                "{desired} worker(s): the lag asks for fewer, applied once it has for {}s \
                 (spec.workers.scaleDownStabilizationSeconds): {rule}",
                policy.stabilization.as_secs()
            ),
        ),
        Why::RateLimited(b) => (
            reason::RATE_LIMITED,
            format!(
                "holding at {desired} worker(s) although the lag asks for {}: the CRM budget is saturated \
                 (workers wait on it about {}% of their time and use about {}% of the {} requests per 10s it allows), \
                 so more workers would only queue for the same budget",
                d.recommended,
                tens_of_percent(b.wait_permille),
                tens_of_percent(b.used_permille),
                b.allowed_per_10s
            ),
        ),
        Why::WaitingForWorkers(load) => (
            reason::WAITING_FOR_WORKERS,
            format!(
                "{desired} worker(s), {} of them reporting: the next step waits until every worker of the last one \
                 reports, to see what it did to the CRM budget",
                load.reporting
            ),
        ),
        Why::PollDue => (
            reason::POLL_DUE,
            format!(
                "{desired} worker(s): scaled to zero, and the reconciliation poll (which runs in the worker pods) is due; \
                 it scales back to zero after the stabilization window: {rule}"
            ),
        ),
        Why::WorkersIdle(load) => (
            reason::WORKERS_IDLE,
            format!(
                "holding at {desired} worker(s) although the lag asks for {}: the workers report being busy \
                 only about {}% of their time (a report from before the events came, or backing off from a CRM outage), \
                 so more workers would not drain faster",
                d.recommended,
                tens_of_percent(load.busy_permille)
            ),
        ),
    }
}
