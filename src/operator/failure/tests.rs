use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::operator::resources::BuildError;

fn api_error(code: u16, reason: &str, message: &str) -> ReconcileError {
    let status: kube::core::Status = serde_json::from_value(serde_json::json!({
        "status": "Failure", "code": code, "reason": reason, "message": message
    }))
    .unwrap();
    ReconcileError::Kube(kube::Error::Api(Box::new(status)))
}

#[test]
fn api_refusals_map_to_stable_reasons() {
    let quota = "deployments.apps \"a-receiver\" is forbidden: exceeded quota: no-deploy, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0";
    let cases = [
        (403, quota, FailureReason::QuotaExceeded),
        (
            403,
            "admission webhook \"policy.example\" denied the request: no",
            FailureReason::AdmissionDenied,
        ),
        (
            403,
            "deployments.apps \"x\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no",
            FailureReason::AdmissionDenied,
        ),
        (
            403,
            "deployments.apps is forbidden: User \"system:serviceaccount:x:y\" cannot patch resource",
            FailureReason::Forbidden,
        ),
        (
            422,
            "Service \"x\" is invalid: metadata.name",
            FailureReason::InvalidSpec,
        ),
        (400, "bad request", FailureReason::InvalidSpec),
        (409, "conflict", FailureReason::ApplyFailed),
        (
            500,
            "etcdserver: request timed out",
            FailureReason::ApplyFailed,
        ),
    ];
    for (code, message, reason) in cases {
        assert_eq!(reason_of_api(code, message), reason, "{code} {message}");
    }
}

#[test]
fn classify_keeps_the_api_servers_words_on_one_bounded_line() {
    let f = classify(&api_error(
        403,
        "Forbidden",
        "exceeded quota: q,\nrequested: x",
    ));
    assert_eq!(f.reason, FailureReason::QuotaExceeded);
    assert_eq!(f.message, "exceeded quota: q, requested: x");
    let long = "x".repeat(2000);
    assert_eq!(
        classify(&api_error(500, "", &long)).message.len(),
        MAX_MESSAGE
    );
    let build = classify(&ReconcileError::Build(BuildError::MissingMetadata(
        "namespace",
    )));
    assert_eq!(
        (build.reason, build.message.as_str()),
        (
            FailureReason::InvalidSpec,
            "cannot build child objects: the SyncPipeline has no namespace"
        )
    );
    assert_eq!(
        classify(&ReconcileError::Serialize("x".into())).reason,
        FailureReason::ApplyFailed
    );
}

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn cond(type_: &str, status: &str, reason: &str, t: i64) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: Some(1),
        last_transition_time: at(t),
    }
}

#[test]
fn a_failure_sets_ready_false_and_keeps_the_rest() {
    let failure = Failure {
        reason: FailureReason::QuotaExceeded,
        message: "exceeded quota".into(),
    };
    let current = SyncPipelineStatus {
        conditions: vec![
            cond("Ready", "True", "PipelineRunning", 10),
            cond("SecretResolved", "True", "SecretResolved", 10),
        ],
        webhook_url: Some("http://x".into()),
        ..Default::default()
    };
    let s = failed_status(Some(&current), Some(2), &failure, at(20));
    assert_eq!(s.observed_generation, Some(2));
    assert_eq!(s.webhook_url.as_deref(), Some("http://x"));
    assert_eq!(s.conditions.len(), 2);
    let ready = &s.conditions[0];
    assert_eq!(
        (
            ready.status.as_str(),
            ready.reason.as_str(),
            ready.message.as_str()
        ),
        ("False", "QuotaExceeded", "exceeded quota")
    );
    assert_eq!(ready.last_transition_time, at(20), "Ready flipped");
    assert_eq!(s.conditions[1], current.conditions[1]);

    // The same failure again changes nothing: retries write no status.
    assert_eq!(failed_status(Some(&s), Some(2), &failure, at(30)), s);

    // Another failure while already False keeps the transition time.
    let other = Failure {
        reason: FailureReason::ApplyFailed,
        message: "boom".into(),
    };
    let t = failed_status(Some(&s), Some(2), &other, at(40));
    assert_eq!(t.conditions[0].reason, "ApplyFailed");
    assert_eq!(t.conditions[0].last_transition_time, at(20));

    // No status yet: Ready alone.
    let first = failed_status(None, Some(1), &failure, at(5));
    assert_eq!(first.conditions.len(), 1);
    assert_eq!(first.conditions[0].type_, "Ready");
}

#[test]
fn every_variant_is_listed() {
    // The match has no wildcard: a new variant stops this test compiling until it is
    // handled here, which is the reminder to add it to `ALL` (and to docs/status.md).
    let listed = |r: FailureReason| match r {
        FailureReason::ApplyFailed
        | FailureReason::InvalidSpec
        | FailureReason::QuotaExceeded
        | FailureReason::AdmissionDenied
        | FailureReason::Forbidden => FailureReason::ALL.contains(&r),
    };
    for r in FailureReason::ALL {
        assert!(listed(r));
    }
    let mut names: Vec<&str> = FailureReason::ALL.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), FailureReason::ALL.len());
}
