use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::api::PendingScaleDown;
use crate::operator::scaler::{Decision, Load, Policy, Why};

fn t(secs: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + secs).unwrap())
}

fn healthy() -> Observed {
    let up = DeploymentView {
        wanted: 2,
        replicas: 2,
        ready: 2,
        available: 2,
        trouble: None,
    };
    Observed {
        generation: Some(3),
        secret: SecretState::Resolved,
        redis_error: None,
        receiver: Some(up.clone()),
        workers: Some(up),
        paused: false,
        webhook_url: Some("http://x-receiver.shops.svc:8080/webhooks/shopify".into()),
        queue: Some(QueueSample::default()),
        scaling: scaled(2, Why::OnLag, 10, 300),
        queue_write_every: Duration::from_secs(30),
        replay: None,
        backfill_objects: None,
        declared_rate: crate::api::CrmRateLimit {
            requests: 100,
            per_seconds: 10,
        },
    }
}

/// A scaling decided from the lag: `desired` workers for `why`, within 1..=`max`.
fn scaled(desired: i32, why: Why, max: i32, stabilization_secs: u64) -> Scaling {
    Scaling::FromLag {
        decision: Decision {
            desired,
            recommended: desired,
            lag: 0,
            why,
            pending: None,
            load: None,
        },
        policy: Policy {
            min: 1,
            max,
            target_lag: 500,
            stabilization: Duration::from_secs(stabilization_secs),
        },
    }
}

fn sample(lag: u64) -> QueueSample {
    QueueSample {
        lag,
        pending: 2,
        dead_letters: 1,
        retries: 0,
        ..QueueSample::default()
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
        key: crate::config::SecretKey::CrmToken,
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
        trouble: None,
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
    // With the pods' own reason, Ready names it too.
    if let Some(w) = o.workers.as_mut() {
        w.trouble =
            Some("pod acme-worker-1: container syncline ErrImageNeverPull: not present".into());
    }
    let s = compute(&o, None, t(0));
    assert_eq!(
        cond(&s, condition::WORKERS_AVAILABLE).message,
        "0 of 3 worker pods available; pod acme-worker-1: container syncline ErrImageNeverPull: not present"
    );
    assert!(
        cond(&s, condition::READY)
            .message
            .contains("ErrImageNeverPull")
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
        trouble: None,
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

#[test]
fn crm_refusal_flips_its_condition_and_ready() {
    let first = compute(&healthy(), None, t(0));
    let crm = cond(&first, condition::CRM_UNAUTHORIZED);
    assert_eq!(
        (crm.status.as_str(), crm.reason.as_str()),
        ("False", reason::CRM_AUTHORIZED)
    );

    let mut o = healthy();
    o.queue.as_mut().unwrap().crm_unauthorized = Some("token expired".into());
    let refused = compute(&o, Some(&first), t(10));
    let crm = cond(&refused, condition::CRM_UNAUTHORIZED);
    assert_eq!(
        (
            crm.status.as_str(),
            crm.reason.as_str(),
            crm.message.as_str()
        ),
        ("True", reason::CRM_UNAUTHORIZED, "token expired")
    );
    let ready = cond(&refused, condition::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reason::CRM_UNAUTHORIZED)
    );
    let flipped: Vec<_> = transitions(Some(&first), &refused)
        .into_iter()
        .map(|c| (c.type_.clone(), is_healthy(&c)))
        .collect();
    assert_eq!(
        flipped,
        [
            (condition::READY.to_string(), false),
            (condition::CRM_UNAUTHORIZED.to_string(), false)
        ]
    );

    // Redis unreadable: the refusal stays as stored, no flip, no Event.
    let mut blind = o.clone();
    blind.queue = None;
    blind.redis_error = Some("timeout".into());
    let kept = compute(&blind, Some(&refused), t(20));
    assert_eq!(cond(&kept, condition::CRM_UNAUTHORIZED).status, "True");
    assert_eq!(
        cond(&kept, condition::READY).reason,
        reason::REDIS_UNREACHABLE
    );

    // The key is gone: authorized again, Ready recovers.
    let healed = compute(&healthy(), Some(&refused), t(30));
    assert_eq!(cond(&healed, condition::CRM_UNAUTHORIZED).status, "False");
    assert!(is_healthy(cond(&healed, condition::CRM_UNAUTHORIZED)));
    assert_eq!(cond(&healed, condition::READY).status, "True");
}

#[test]
fn crm_message_masks_secrets_and_stays_short() {
    let raw = "Authentication credentials not found: pat-na1-secret\nretry";
    let m = crm_message(raw, &["pat-na1-secret", "ab"]);
    assert!(!m.contains("pat-na1-secret"), "{m}");
    assert!(m.contains("<redacted>") && !m.contains('\n'), "{m}");
    assert!(crm_message(&"x".repeat(5000), &[]).len() < 400);
    assert!(crm_message("", &[]).ends_with("no message"));
}

#[test]
fn queue_status_is_written_only_when_figures_change_and_at_a_bounded_rate() {
    let every = Duration::from_secs(30);
    let first = queue_status(None, Some(&sample(5)), &t(0), every).unwrap();
    assert_eq!((first.lag, first.pending, first.dead_letters), (5, 2, 1));
    assert_eq!(first.sampled_at, Some(t(0)));

    // Same figures later: nothing changes, not even sampledAt.
    assert_eq!(
        queue_status(Some(&first), Some(&sample(5)), &t(300), every),
        Some(first.clone())
    );
    // Changed figures soon after the last write wait for the interval.
    assert_eq!(
        queue_status(Some(&first), Some(&sample(9)), &t(10), every),
        Some(first.clone())
    );
    let later = queue_status(Some(&first), Some(&sample(9)), &t(30), every).unwrap();
    assert_eq!((later.lag, later.sampled_at), (9, Some(t(30))));
    // No sample: what is stored stays.
    assert_eq!(queue_status(Some(&first), None, &t(60), every), Some(first));
    assert_eq!(queue_status(None, None, &t(60), every), None);
}

#[test]
fn a_replay_is_recorded_and_then_carried_over() {
    let mut o = healthy();
    o.replay = Some(DeadLetterReplayStatus {
        token: "t1".into(),
        replayed: 3,
        completed_at: Some(t(5)),
    });
    o.queue = Some(sample(1));
    let s = compute(&o, None, t(5));
    let next = compute(&healthy(), Some(&s), t(60));
    assert_eq!(next.dead_letter_replay, s.dead_letter_replay);
    assert_eq!(next.dead_letter_replay.unwrap().token, "t1");
}

#[test]
fn a_status_written_anyway_carries_the_newest_figures() {
    let mut o = healthy();
    o.queue = Some(sample(5));
    let first = compute(&o, None, t(0));
    o.queue = Some(sample(7));
    assert_eq!(
        compute(&o, Some(&first), t(1)),
        first,
        "too soon to write for lag"
    );
    o.secret = SecretState::NotFound { name: "s".into() };
    let written = compute(&o, Some(&first), t(1));
    assert_eq!(written.queue.unwrap().lag, 7);
}

#[test]
fn the_drain_estimate_follows_the_reported_rate() {
    use crate::queue::LoadSummary;
    let with = |lag: u64, events: u64| QueueSample {
        lag,
        load: (events > 0).then_some(LoadSummary {
            workers: 2,
            window_ms: 10_000,
            events,
            ..LoadSummary::default()
        }),
        ..QueueSample::default()
    };
    // Two workers over 5 s windows finishing 500 events: 100 per second.
    assert_eq!(drain_seconds(&with(0, 0)), Some(0));
    assert_eq!(drain_seconds(&with(1_000, 0)), None);
    assert_eq!(drain_seconds(&with(1_000, 500)), Some(10));
    assert_eq!(drain_seconds(&with(1_001, 500)), Some(11));
    let mut o = healthy();
    o.queue = Some(with(1_000, 500));
    let s = compute(&o, None, t(0));
    assert_eq!(s.queue.unwrap().drain_seconds, Some(10));
}

#[test]
fn the_conditions_written_are_exactly_the_documented_list() {
    // `condition::ALL` is what docs/status.md is checked against; it must be what the
    // operator writes, in the same order.
    let s = compute(&healthy(), None, t(0));
    let types: Vec<&str> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, condition::ALL);
    for c in &s.conditions {
        assert!(reason::ALL.contains(&c.reason.as_str()), "{}", c.reason);
    }
}

mod scaling;
