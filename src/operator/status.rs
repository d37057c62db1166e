//! Pure status computation: from what reconcile observed to the conditions users read.
//!
//! `Ready` summarises the others with the reason of the first thing in the way, so
//! `kubectl get sp` and `kubectl describe` say what to fix. `lastTransitionTime` moves only
//! when a condition's status flips, and an unchanged status compares equal, so a steady
//! pipeline causes no status writes.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::{SyncPipelineStatus, WorkersStatus, condition};

/// Stable condition reasons: alerts and scripts may match on them.
pub mod reason {
    pub const SECRET_RESOLVED: &str = "SecretResolved";
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    pub const SECRET_KEY_MISSING: &str = "SecretKeyMissing";
    pub const REDIS_UNREACHABLE: &str = "RedisUnreachable";
    pub const DEPLOYMENT_AVAILABLE: &str = "DeploymentAvailable";
    pub const DEPLOYMENT_UNAVAILABLE: &str = "DeploymentUnavailable";
    pub const WAITING_FOR_SECRET: &str = "WaitingForSecret";
    pub const SCALED_TO_ZERO: &str = "ScaledToZero";
    pub const PAUSED: &str = "Paused";
    pub const RUNNING: &str = "Running";
    pub const PIPELINE_RUNNING: &str = "PipelineRunning";
}

/// What resolving the pipeline's Secret found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretState {
    Resolved,
    NotFound { name: String },
    KeyMissing { name: String, key: &'static str },
}

/// A Deployment's progress as far as conditions care.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentView {
    pub wanted: i32,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
}

impl DeploymentView {
    pub fn of(d: &Deployment) -> Self {
        let status = d.status.clone().unwrap_or_default();
        Self {
            wanted: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            replicas: status.replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
        }
    }

    fn is_available(&self) -> bool {
        self.wanted == 0 || self.available >= 1
    }
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
}

struct Cond {
    type_: &'static str,
    ok: bool,
    reason: &'static str,
    message: String,
}

fn deployment_condition(
    type_: &'static str,
    what: &str,
    view: &Option<DeploymentView>,
    secret_ok: bool,
) -> Cond {
    match view {
        None if !secret_ok => Cond {
            type_,
            ok: false,
            reason: reason::WAITING_FOR_SECRET,
            message: format!("the {what} Deployment is not created until the Secret is resolved"),
        },
        None => Cond {
            type_,
            ok: false,
            reason: reason::DEPLOYMENT_UNAVAILABLE,
            message: format!("the {what} Deployment does not exist yet"),
        },
        Some(v) if v.wanted == 0 => Cond {
            type_,
            ok: true,
            reason: reason::SCALED_TO_ZERO,
            message: format!("no {what} pods are wanted"),
        },
        Some(v) if v.is_available() => Cond {
            type_,
            ok: true,
            reason: reason::DEPLOYMENT_AVAILABLE,
            message: format!("{} of {} {what} pods available", v.available, v.wanted),
        },
        Some(v) => Cond {
            type_,
            ok: false,
            reason: reason::DEPLOYMENT_UNAVAILABLE,
            message: format!("{} of {} {what} pods available", v.available, v.wanted),
        },
    }
}

fn conditions_for(o: &Observed) -> Vec<Cond> {
    let secret = match &o.secret {
        SecretState::Resolved => Cond {
            type_: condition::SECRET_RESOLVED,
            ok: true,
            reason: reason::SECRET_RESOLVED,
            message: "every key the pipeline needs is present".into(),
        },
        SecretState::NotFound { name } => Cond {
            type_: condition::SECRET_RESOLVED,
            ok: false,
            reason: reason::SECRET_NOT_FOUND,
            message: format!("Secret {name:?} not found in the pipeline's namespace"),
        },
        SecretState::KeyMissing { name, key } => Cond {
            type_: condition::SECRET_RESOLVED,
            ok: false,
            reason: reason::SECRET_KEY_MISSING,
            message: format!(
                "Secret {name:?} has no non-empty key {key:?}, which this pipeline needs"
            ),
        },
    };
    let secret_ok = secret.ok;
    let receiver = deployment_condition(
        condition::RECEIVER_AVAILABLE,
        "receiver",
        &o.receiver,
        secret_ok,
    );
    let workers = deployment_condition(
        condition::WORKERS_AVAILABLE,
        "worker",
        &o.workers,
        secret_ok,
    );
    let paused = Cond {
        type_: condition::PAUSED,
        ok: o.paused,
        reason: if o.paused {
            reason::PAUSED
        } else {
            reason::RUNNING
        },
        message: if o.paused {
            "spec.state is Paused: workers and polling are stopped; the receiver keeps queueing webhooks".into()
        } else {
            "spec.state is Running".into()
        },
    };

    let blocker = [&secret, &receiver, &workers].into_iter().find(|c| !c.ok);
    let ready = match (blocker, &o.redis_error) {
        (Some(c), _) if !secret_ok => (false, c.reason, c.message.clone()),
        (_, Some(err)) => (
            false,
            reason::REDIS_UNREACHABLE,
            format!("Redis unreachable: {err}"),
        ),
        (Some(c), None) => (false, c.reason, c.message.clone()),
        (None, None) if o.paused => (false, reason::PAUSED, paused.message.clone()),
        (None, None) => (
            true,
            reason::PIPELINE_RUNNING,
            "receiver and workers are available".into(),
        ),
    };
    let ready = Cond {
        type_: condition::READY,
        ok: ready.0,
        reason: ready.1,
        message: ready.2,
    };
    vec![ready, secret, receiver, workers, paused]
}

/// The status to write, given the observations and the status currently stored.
pub fn compute(
    o: &Observed,
    current: Option<&SyncPipelineStatus>,
    now: Time,
) -> SyncPipelineStatus {
    let old = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let conditions = conditions_for(o)
        .into_iter()
        .map(|c| {
            let status = if c.ok { "True" } else { "False" };
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
                observed_generation: o.generation,
                last_transition_time,
            }
        })
        .collect();
    let workers = o.workers.as_ref().map(|w| WorkersStatus {
        replicas: w.replicas,
        ready_replicas: w.ready,
        desired_replicas: w.wanted,
    });
    SyncPipelineStatus {
        observed_generation: o.generation,
        conditions,
        webhook_url: o.webhook_url.clone(),
        workers,
        // Owned by the queue sampler and the poller; carried over untouched.
        queue: current.and_then(|s| s.queue.clone()),
        last_poll_time: current.and_then(|s| s.last_poll_time.clone()),
    }
}

/// Conditions whose status flipped between two statuses: (type, new status, reason,
/// message). Events are published for these only, never on every reconcile.
pub fn transitions(
    before: Option<&SyncPipelineStatus>,
    after: &SyncPipelineStatus,
) -> Vec<Condition> {
    let old = before.map(|s| s.conditions.as_slice()).unwrap_or_default();
    after
        .conditions
        .iter()
        .filter(|c| {
            !old.iter()
                .any(|p| p.type_ == c.type_ && p.status == c.status && p.reason == c.reason)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
