//! Pure status computation: from what reconcile observed to the conditions users read.
//!
//! `Ready` summarises the others with the reason of the first thing in the way, so
//! `kubectl get sp` and `kubectl describe` say what to fix. `lastTransitionTime` moves only
//! when a condition's status flips, and an unchanged status compares equal, so a steady
//! pipeline causes no status writes.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::scaler::Scaling;
use crate::api::{
    CrmRateLimit, DeadLetterReplayStatus, QueueStatus, SyncPipelineStatus, WorkersStatus, condition,
};
use crate::config::SecretKey;
use crate::queue::admin::QueueSample;

/// Stable condition reasons: alerts and scripts may match on them, and docs/status.md
/// explains each (`tests/runbook_coverage.rs` fails on one it lacks). Declared through
/// `reasons!` so that `ALL` cannot miss a reason added later.
pub mod reason {
    macro_rules! reasons {
        ($($name:ident = $value:literal,)*) => {
            $(pub const $name: &str = $value;)*
            /// Every reason above, in declaration order.
            pub const ALL: &[&str] = &[$($name),*];
        };
    }

    reasons! {
        SECRET_RESOLVED = "SecretResolved",
        SECRET_NOT_FOUND = "SecretNotFound",
        SECRET_KEY_MISSING = "SecretKeyMissing",
        REDIS_UNREACHABLE = "RedisUnreachable",
        DEPLOYMENT_AVAILABLE = "DeploymentAvailable",
        DEPLOYMENT_UNAVAILABLE = "DeploymentUnavailable",
        WAITING_FOR_SECRET = "WaitingForSecret",
        SCALED_TO_ZERO = "ScaledToZero",
        PAUSED = "Paused",
        RUNNING = "Running",
        PIPELINE_RUNNING = "PipelineRunning",
        CRM_UNAUTHORIZED = "CrmUnauthorized",
        CRM_AUTHORIZED = "CrmAuthorized",
        SCALING_ON_LAG = "ScalingOnLag",
        MAX_REPLICAS_REACHED = "MaxReplicasReached",
        RATE_LIMITED = "RateLimited",
        STEP_LIMITED = "StepLimited",
        STABILIZING = "Stabilizing",
        WORKERS_IDLE = "WorkersIdle",
        POLL_DUE = "PollDue",
        WAITING_FOR_WORKERS = "WaitingForWorkers",
        LAG_UNKNOWN = "LagUnknown",
        STATED_LIMIT_LOWER = "StatedLimitLower",
        STATED_LIMIT_NOT_LOWER = "StatedLimitNotLower",
        NO_STATED_LIMIT = "NoStatedLimit",
    }
}

/// What resolving the pipeline's Secret found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretState {
    Resolved,
    NotFound { name: String },
    KeyMissing { name: String, key: SecretKey },
}

/// Everything reconcile observed, the input of `compute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub generation: Option<i64>,
    pub secret: SecretState,
    /// `Some(message)` when Redis could not be reached.
    pub redis_error: Option<String>,
    /// `None` while the Deployment does not exist (e.g. waiting for the Secret).
    pub receiver: Option<DeploymentView>,
    pub workers: Option<DeploymentView>,
    pub paused: bool,
    pub webhook_url: Option<String>,
    /// The queue as sampled this reconcile; `None` when Redis was not read (Secret not
    /// resolved, Redis unreachable): the stored figures and CRM condition then stay.
    pub queue: Option<QueueSample>,
    /// What the lag-based scaler decided.
    pub scaling: Scaling,
    /// Changed queue figures are written at most this often, so a busy queue cannot turn
    /// each status write (which wakes the controller again) into a write loop.
    pub queue_write_every: Duration,
    /// A dead-letter replay carried out this reconcile.
    pub replay: Option<DeadLetterReplayStatus>,
    /// The object types a backfill imports (`None` without `spec.polling.backfillSince`).
    pub backfill_objects: Option<Vec<String>>,
    /// `spec.crmRateLimit`, to compare with what HubSpot states.
    pub declared_rate: CrmRateLimit,
}

/// A condition before it is stored.
pub(super) struct Cond {
    pub type_: &'static str,
    /// Whether what the type states is true (`status: "True"`). That is good news for
    /// `Ready` or `WorkersAvailable` and bad news for `Paused` or `CrmUnauthorized`.
    pub holds: bool,
    pub reason: &'static str,
    pub message: String,
}

/// The CRM-refusal condition: True with HubSpot's message while workers report 401/403.
/// Without a sample (Redis unreadable) the stored condition stays, so a Redis blip neither
/// flips it nor publishes Events.
fn crm_condition(o: &Observed, old: &[Condition]) -> Cond {
    let refused = match &o.queue {
        Some(sample) => sample.crm_unauthorized.clone(),
        None => old
            .iter()
            .find(|c| c.type_ == condition::CRM_UNAUTHORIZED && c.status == "True")
            .map(|c| c.message.clone()),
    };
    match refused {
        Some(message) => Cond {
            type_: condition::CRM_UNAUTHORIZED,
            holds: true,
            reason: reason::CRM_UNAUTHORIZED,
            message,
        },
        None => Cond {
            type_: condition::CRM_UNAUTHORIZED,
            holds: false,
            reason: reason::CRM_AUTHORIZED,
            message: "no worker reports the CRM refusing the pipeline's token".into(),
        },
    }
}

/// HubSpot's refusal message as shown in a condition: one line, at most 300 characters,
/// and any of the pipeline's secret values masked, in case an error echoes a token.
pub fn crm_message(raw: &str, secrets: &[&str]) -> String {
    let mut text: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "<redacted>");
    }
    let text = text.trim();
    let short: String = text.chars().take(300).collect();
    let detail = if short.is_empty() {
        "no message".to_string()
    } else {
        short
    };
    format!("the CRM refuses the pipeline's token (HTTP 401/403): {detail}")
}

fn secret_condition(state: &SecretState) -> Cond {
    match state {
        SecretState::Resolved => Cond {
            type_: condition::SECRET_RESOLVED,
            holds: true,
            reason: reason::SECRET_RESOLVED,
            message: "every key the pipeline needs is present".into(),
        },
        SecretState::NotFound { name } => Cond {
            type_: condition::SECRET_RESOLVED,
            holds: false,
            reason: reason::SECRET_NOT_FOUND,
            message: format!("Secret {name:?} not found in the pipeline's namespace"),
        },
        SecretState::KeyMissing { name, key } => Cond {
            type_: condition::SECRET_RESOLVED,
            holds: false,
            reason: reason::SECRET_KEY_MISSING,
            message: format!(
                "Secret {name:?} has no non-empty key {:?}, which this pipeline needs",
                key.name()
            ),
        },
    }
}

fn paused_condition(paused: bool) -> Cond {
    Cond {
        type_: condition::PAUSED,
        holds: paused,
        reason: if paused {
            reason::PAUSED
        } else {
            reason::RUNNING
        },
        message: if paused {
            "spec.state is Paused: workers and polling are stopped; the receiver keeps queueing webhooks".into()
        } else {
            "spec.state is Running".into()
        },
    }
}

/// `Ready` names the first thing in the way, in the order a platform team must fix them:
/// the Secret, then Redis, then a refused CRM token, then pods not yet available, then a
/// pause.
fn ready_condition(
    o: &Observed,
    secret: &Cond,
    pods: [&Cond; 2],
    crm: &Cond,
    paused: &Cond,
) -> Cond {
    let blocker = [secret, pods[0], pods[1]].into_iter().find(|c| !c.holds);
    let (holds, reason, message) = match (blocker, &o.redis_error) {
        (Some(c), _) if !secret.holds => (false, c.reason, c.message.clone()),
        (_, Some(err)) => (
            false,
            reason::REDIS_UNREACHABLE,
            format!("Redis unreachable: {err}"),
        ),
        // A refused token is what the operator of the pipeline must fix first: pods that
        // are merely starting would come up and fail every write.
        _ if crm.holds => (false, crm.reason, crm.message.clone()),
        (Some(c), None) => (false, c.reason, c.message.clone()),
        (None, None) if o.paused => (false, reason::PAUSED, paused.message.clone()),
        (None, None) => (
            true,
            reason::PIPELINE_RUNNING,
            "receiver and workers are available".into(),
        ),
    };
    Cond {
        type_: condition::READY,
        holds,
        reason,
        message,
    }
}

fn conditions_for(o: &Observed, old: &[Condition]) -> Vec<Cond> {
    let secret = secret_condition(&o.secret);
    let receiver = deployment_condition(
        condition::RECEIVER_AVAILABLE,
        "receiver",
        &o.receiver,
        secret.holds,
    );
    let workers = deployment_condition(
        condition::WORKERS_AVAILABLE,
        "worker",
        &o.workers,
        secret.holds,
    );
    let paused = paused_condition(o.paused);
    let crm = crm_condition(o, old);
    let ready = ready_condition(o, &secret, [&receiver, &workers], &crm, &paused);
    vec![
        ready,
        secret,
        receiver,
        workers,
        paused,
        crm,
        scaling::condition(&o.scaling),
        rate_limit::condition(o, old),
    ]
}

/// Seconds to empty the queue at the rate the workers report draining it: 0 for an empty
/// queue, `None` while events wait and no worker reports progress.
pub fn drain_seconds(sample: &QueueSample) -> Option<i64> {
    if sample.lag == 0 {
        return Some(0);
    }
    let rate = sample.load.as_ref()?.events_per_second();
    (rate > 0.0).then(|| (sample.lag as f64 / rate).ceil().min(i64::MAX as f64) as i64)
}

/// The queue status to store: the new figures when they differ from the stored ones and
/// the stored ones are at least `every` old, else the stored status untouched (same
/// `sampledAt`), so an idle queue writes nothing and a busy one writes at a bounded rate.
pub fn queue_status(
    current: Option<&QueueStatus>,
    sample: Option<&QueueSample>,
    now: &Time,
    every: Duration,
) -> Option<QueueStatus> {
    let Some(sample) = sample else {
        return current.cloned();
    };
    let figure = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let fresh = QueueStatus {
        lag: figure(sample.lag),
        pending: figure(sample.pending),
        dead_letters: figure(sample.dead_letters),
        retries: figure(sample.retries),
        drain_seconds: drain_seconds(sample),
        sampled_at: Some(now.clone()),
    };
    let Some(current) = current else {
        return Some(fresh);
    };
    let figures = |q: &QueueStatus| (q.lag, q.pending, q.dead_letters, q.retries, q.drain_seconds);
    let same = figures(current) == figures(&fresh);
    let recent = current
        .sampled_at
        .as_ref()
        .is_some_and(|t| now.0.duration_since(t.0).unsigned_abs() < every);
    if same || recent {
        Some(current.clone())
    } else {
        Some(fresh)
    }
}

/// `c` as stored: `lastTransitionTime` kept from `old` unless the status flipped.
pub(super) fn condition(
    c: Cond,
    generation: Option<i64>,
    old: &[Condition],
    now: &Time,
) -> Condition {
    let status = if c.holds { "True" } else { "False" };
    let previous = old.iter().find(|p| p.type_ == c.type_);
    let last_transition_time = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => now.clone(),
    };
    Condition {
        type_: c.type_.to_string(),
        status: status.to_string(),
        reason: c.reason.to_string(),
        message: c.message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// The status to write, given the observations and the status currently stored.
pub fn compute(
    o: &Observed,
    current: Option<&SyncPipelineStatus>,
    now: Time,
) -> SyncPipelineStatus {
    let old = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let conditions = conditions_for(o, old)
        .into_iter()
        .map(|c| condition(c, o.generation, old, &now))
        .collect();
    let stored_pending = current
        .and_then(|s| s.workers.as_ref())
        .and_then(|w| w.pending_scale_down.as_ref());
    let workers = o.workers.as_ref().map(|w| WorkersStatus {
        replicas: w.replicas,
        ready_replicas: w.ready,
        desired_replicas: w.wanted,
        pending_scale_down: o.scaling.pending(stored_pending).cloned(),
    });
    let stored_queue = current.and_then(|s| s.queue.as_ref());
    let mut status = SyncPipelineStatus {
        observed_generation: o.generation,
        conditions,
        webhook_url: o.webhook_url.clone(),
        workers,
        queue: queue_status(stored_queue, o.queue.as_ref(), &now, o.queue_write_every),
        last_poll_time: progress::last_poll_time(
            o.queue.as_ref(),
            current.and_then(|s| s.last_poll_time.as_ref()),
        ),
        backfill: progress::backfill_status(
            o.backfill_objects.as_deref(),
            o.queue.as_ref(),
            current.and_then(|s| s.backfill.as_ref()),
            stored_queue.and_then(|q| q.sampled_at.as_ref()),
            &now,
            o.queue_write_every,
        ),
        dead_letter_replay: o
            .replay
            .clone()
            .or_else(|| current.and_then(|s| s.dead_letter_replay.clone())),
    };
    if current != Some(&status) {
        // Written anyway: the figures may as well be the newest.
        status.queue = queue_status(stored_queue, o.queue.as_ref(), &now, Duration::ZERO);
    }
    status
}

pub mod pods;
mod transitions;

pub use transitions::{is_healthy, transitions};

pub use pods::DeploymentView;
use pods::deployment_condition;
mod progress;
mod rate_limit;
mod scaling;

#[cfg(test)]
mod tests;
