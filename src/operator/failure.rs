//! What a failed reconcile reports: `Ready=False` with a stable reason and the API server's
//! own words, so `kubectl describe sp` shows why nothing happens. Pure: classifying the
//! error and the status to store are decisions, tested by tables.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::error::ReconcileError;
use super::status::{Cond, condition};
use crate::api::{SyncPipelineStatus, condition as types};

/// Why a reconcile failed, as the `Ready` condition's reason: few, stable, alertable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// The API server refused a child for a reason not listed below, or could not be read.
    ApplyFailed,
    /// The spec builds an object the API server finds invalid (422, 400), or none at all.
    InvalidSpec,
    /// A ResourceQuota in the namespace refuses a child.
    QuotaExceeded,
    /// An admission webhook or policy denies a child.
    AdmissionDenied,
    /// The operator lacks the permission (RBAC) for a child.
    Forbidden,
}

impl FailureReason {
    /// Every reason, for the coverage test of docs/status.md (tests/runbook_coverage.rs).
    /// A new variant stops `every_variant_is_listed` compiling: the reminder to list it.
    pub const ALL: [FailureReason; 5] = [
        Self::ApplyFailed,
        Self::InvalidSpec,
        Self::QuotaExceeded,
        Self::AdmissionDenied,
        Self::Forbidden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApplyFailed => "ApplyFailed",
            Self::InvalidSpec => "InvalidSpec",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::AdmissionDenied => "AdmissionDenied",
            Self::Forbidden => "Forbidden",
        }
    }
}

/// A classified failure: the reason and the message to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: FailureReason,
    pub message: String,
}

/// Conditions carry at most this many characters of an error.
const MAX_MESSAGE: usize = 500;

/// The reason of an API server refusal, from its HTTP code and its own message.
pub fn reason_of_api(code: u16, message: &str) -> FailureReason {
    match code {
        403 if message.contains("exceeded quota") => FailureReason::QuotaExceeded,
        403 if message.contains("admission webhook") || message.contains("denied request") => {
            FailureReason::AdmissionDenied
        }
        403 => FailureReason::Forbidden,
        400 | 422 => FailureReason::InvalidSpec,
        _ => FailureReason::ApplyFailed,
    }
}

/// Classifies a reconcile error; the message is the API server's own when it answered.
pub fn classify(err: &ReconcileError) -> Failure {
    let (reason, message) = match err {
        ReconcileError::Kube(kube::Error::Api(s)) => (reason_of_api(s.code, &s.message), {
            if s.message.is_empty() {
                err.to_string()
            } else {
                s.message.clone()
            }
        }),
        ReconcileError::Build(_) => (FailureReason::InvalidSpec, err.to_string()),
        _ => (FailureReason::ApplyFailed, err.to_string()),
    };
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    Failure {
        reason,
        message: one_line.trim().to_string(),
    }
}

/// The status after a failed reconcile: the stored one (what was last observed stays
/// true) with `Ready=False` for the failure, for this generation.
pub fn failed_status(
    current: Option<&SyncPipelineStatus>,
    generation: Option<i64>,
    failure: &Failure,
    now: Time,
) -> SyncPipelineStatus {
    let mut status = current.cloned().unwrap_or_default();
    let ready = condition(
        Cond {
            type_: types::READY,
            holds: false,
            reason: failure.reason.as_str(),
            message: failure.message.clone(),
        },
        generation,
        &status.conditions,
        &now,
    );
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == ready.type_)
    {
        Some(c) => *c = ready,
        None => status.conditions.insert(0, ready),
    }
    status.observed_generation = generation;
    status
}

#[cfg(test)]
mod tests;
