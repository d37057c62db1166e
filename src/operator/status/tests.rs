use k8s_openapi::jiff::Timestamp;

use super::*;

fn t(secs: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + secs).unwrap())
}

fn healthy() -> Observed {
    let up = DeploymentView {
        wanted: 2,
        replicas: 2,
        ready: 2,
        available: 2,
    };
    Observed {
        generation: Some(3),
        secret: SecretState::Resolved,
        redis_error: None,
        receiver: Some(up.clone()),
        workers: Some(up),
        paused: false,
        webhook_url: Some("http://x-receiver.shops.svc:8080/webhooks/shopify".into()),
    }
}

fn cond<'a>(s: &'a SyncPipelineStatus, type_: &str) -> &'a Condition {
    s.conditions.iter().find(|c| c.type_ == type_).unwrap()
}

#[test]
fn healthy_pipeline_is_ready() {
    let s = compute(&healthy(), None, t(0));
    let ready = cond(&s, condition::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reason::PIPELINE_RUNNING)
    );
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(s.workers.as_ref().unwrap().ready_replicas, 2);
    assert_eq!(cond(&s, condition::PAUSED).status, "False");
}

#[test]
fn missing_secret_names_itself_and_blocks_ready() {
    let mut o = healthy();
    o.secret = SecretState::NotFound {
        name: "acme-credentials".into(),
    };
    o.receiver = None;
    o.workers = None;
    let s = compute(&o, None, t(0));
    let ready = cond(&s, condition::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reason::SECRET_NOT_FOUND)
    );
    assert!(ready.message.contains("acme-credentials"));
    assert_eq!(
        cond(&s, condition::RECEIVER_AVAILABLE).reason,
        reason::WAITING_FOR_SECRET
    );

    o.secret = SecretState::KeyMissing {
        name: "acme-credentials".into(),
        key: "crmToken",
    };
    let s = compute(&o, None, t(0));
    assert_eq!(
        cond(&s, condition::SECRET_RESOLVED).reason,
        reason::SECRET_KEY_MISSING
    );
    assert!(cond(&s, condition::READY).message.contains("crmToken"));
}

#[test]
fn redis_and_deployments_explain_not_ready() {
    let mut o = healthy();
    o.redis_error = Some("connection refused".into());
    assert_eq!(
        cond(&compute(&o, None, t(0)), condition::READY).reason,
        reason::REDIS_UNREACHABLE
    );

    let mut o = healthy();
    o.workers = Some(DeploymentView {
        wanted: 3,
        replicas: 3,
        ready: 0,
        available: 0,
    });
    let s = compute(&o, None, t(0));
    assert_eq!(
        cond(&s, condition::READY).reason,
        reason::DEPLOYMENT_UNAVAILABLE
    );
    assert_eq!(
        cond(&s, condition::WORKERS_AVAILABLE).message,
        "0 of 3 worker pods available"
    );
}

#[test]
fn paused_is_not_ready_and_says_why() {
    let mut o = healthy();
    o.paused = true;
    o.workers = Some(DeploymentView::default());
    let s = compute(&o, None, t(0));
    assert_eq!(cond(&s, condition::READY).reason, reason::PAUSED);
    assert_eq!(cond(&s, condition::PAUSED).status, "True");
    assert_eq!(
        cond(&s, condition::WORKERS_AVAILABLE).reason,
        reason::SCALED_TO_ZERO
    );
}

#[test]
fn transition_time_moves_only_when_status_flips() {
    let first = compute(&healthy(), None, t(0));
    let same = compute(&healthy(), Some(&first), t(60));
    assert_eq!(
        first, same,
        "a steady pipeline must compute an identical status"
    );
    assert!(transitions(Some(&first), &same).is_empty());

    let mut o = healthy();
    o.receiver = Some(DeploymentView {
        wanted: 2,
        replicas: 2,
        ready: 1,
        available: 1,
    });
    let message_only = compute(&o, Some(&first), t(120));
    let recv = cond(&message_only, condition::RECEIVER_AVAILABLE);
    assert_eq!(
        recv.last_transition_time,
        t(0),
        "message changed, status did not"
    );

    o.secret = SecretState::NotFound { name: "s".into() };
    let flipped = compute(&o, Some(&first), t(180));
    assert_eq!(
        cond(&flipped, condition::SECRET_RESOLVED).last_transition_time,
        t(180)
    );
    assert_eq!(cond(&flipped, condition::PAUSED).last_transition_time, t(0));
    let changed: Vec<_> = transitions(Some(&first), &flipped)
        .into_iter()
        .map(|c| c.type_)
        .collect();
    assert_eq!(changed, [condition::READY, condition::SECRET_RESOLVED]);
}
