//! Which conditions flipped between two statuses, and whether each is good news: Events
//! are published for flips only, Normal for a healthy state and Warning for a problem.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::{SyncPipelineStatus, condition};

/// Whether a condition in this status is the healthy state (Normal Event) rather than a
/// problem (Warning Event). Paused, CrmUnauthorized and CrmRateLimitMismatch read the
/// other way round.
pub fn is_healthy(c: &Condition) -> bool {
    let inverted = [
        condition::PAUSED,
        condition::CRM_UNAUTHORIZED,
        condition::CRM_RATE_LIMIT_MISMATCH,
    ]
    .contains(&c.type_.as_str());
    (c.status == "True") != inverted
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
