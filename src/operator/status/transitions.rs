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
/// message). Events are published for these only, never on every reconcile. A condition
/// that first appears healthy flipped from nothing: it is news only when it is a problem
/// (otherwise every new pipeline would announce each of its healthy conditions, a burst of
/// Events per pipeline when thousands are created at once).
pub fn transitions(
    before: Option<&SyncPipelineStatus>,
    after: &SyncPipelineStatus,
) -> Vec<Condition> {
    let old = before.map(|s| s.conditions.as_slice()).unwrap_or_default();
    after
        .conditions
        .iter()
        .filter(|c| match old.iter().find(|p| p.type_ == c.type_) {
            Some(p) => p.status != c.status || p.reason != c.reason,
            None => !is_healthy(c),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(type_: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        }
    }

    fn status(conditions: Vec<Condition>) -> SyncPipelineStatus {
        SyncPipelineStatus {
            conditions,
            ..SyncPipelineStatus::default()
        }
    }

    #[test]
    fn a_new_condition_is_news_only_when_it_is_a_problem() {
        let first = status(vec![
            cond(condition::SECRET_RESOLVED, "True", "SecretResolved"),
            cond(condition::PAUSED, "False", "Running"),
            cond(
                condition::WORKERS_AVAILABLE,
                "False",
                "DeploymentUnavailable",
            ),
            cond(condition::CRM_UNAUTHORIZED, "True", "CrmRefusedToken"),
        ]);
        let reasons = |t: Vec<Condition>| t.into_iter().map(|c| c.reason).collect::<Vec<_>>();
        assert_eq!(
            reasons(transitions(None, &first)),
            ["DeploymentUnavailable", "CrmRefusedToken"]
        );
        // Once there, a condition is news whenever its status or reason changes.
        let later = status(vec![
            cond(condition::SECRET_RESOLVED, "False", "SecretNotFound"),
            cond(condition::PAUSED, "False", "Running"),
            cond(condition::WORKERS_AVAILABLE, "True", "DeploymentAvailable"),
            cond(condition::CRM_UNAUTHORIZED, "True", "CrmRefusedToken"),
        ]);
        assert_eq!(
            reasons(transitions(Some(&first), &later)),
            ["SecretNotFound", "DeploymentAvailable"]
        );
    }
}
