//! The ScalingActive condition and `status.workers`: what the scaler decided, what holds
//! it, and the pending scale-down.

use super::*;

#[test]
fn scaling_active_says_what_the_scaler_decided_without_the_live_lag() {
    let now = t(0);
    let running = compute(&healthy(), None, now.clone());
    let c = cond(&running, "ScalingActive");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "ScalingOnLag")
    );
    assert_eq!(
        c.message,
        "2 worker(s) for the queue lag: one per 500 events waiting, between 1 and 10"
    );
    // A moving lag with the same decision rewrites nothing in the condition.
    let mut busier = healthy();
    busier.queue = Some(sample(700));
    let again = compute(&busier, Some(&running), t(5));
    assert_eq!(cond(&again, "ScalingActive"), c);

    let mut at_max = healthy();
    at_max.scaling = scaled(10, Why::MaxReplicas, 10, 0);
    let s = compute(&at_max, None, now.clone());
    assert_eq!(cond(&s, "ScalingActive").reason, "MaxReplicasReached");

    let mut paused = healthy();
    paused.paused = true;
    paused.scaling = Scaling::Paused;
    let s = compute(&paused, None, now.clone());
    assert_eq!(cond(&s, "ScalingActive").status, "False");
    assert_eq!(cond(&s, "ScalingActive").reason, "Paused");

    let mut unknown = healthy();
    unknown.redis_error = Some("connection refused".into());
    unknown.queue = None;
    unknown.scaling = Scaling::LagUnknown { kept: 3 };
    let s = compute(&unknown, None, now);
    let c = cond(&s, "ScalingActive");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "LagUnknown")
    );
    assert!(c.message.contains("stay at 3"), "{}", c.message);
}

#[test]
fn stated_rate_limit_below_the_declared_one_is_reported_with_both_figures() {
    use crate::queue::StatedLimits;
    let with = |max: u64, interval_ms: u64| {
        let mut o = healthy();
        o.queue = Some(QueueSample {
            crm_limits: Some(StatedLimits {
                max: Some(max),
                interval_ms: Some(interval_ms),
                daily: Some(250_000),
                daily_remaining: Some(1_000),
                observed_at: None,
            }),
            ..QueueSample::default()
        });
        o
    };
    let lower = compute(&with(60, 10_000), None, t(0));
    let c = cond(&lower, condition::CRM_RATE_LIMIT_MISMATCH);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", reason::STATED_LIMIT_LOWER)
    );
    assert!(c.message.contains("60 per 10s"), "{}", c.message);
    assert!(c.message.contains("declares 100 per 10s"), "{}", c.message);
    assert!(!is_healthy(c));
    // Ready is not held back: the workers already pace at HubSpot's figure.
    assert_eq!(cond(&lower, condition::READY).status, "True");

    let higher = compute(&with(190, 10_000), Some(&lower), t(5));
    let c = cond(&higher, condition::CRM_RATE_LIMIT_MISMATCH);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", reason::STATED_LIMIT_NOT_LOWER)
    );
    // Same rate over another window is not lower.
    let same = compute(&with(10, 1_000), None, t(0));
    assert_eq!(
        cond(&same, condition::CRM_RATE_LIMIT_MISMATCH).status,
        "False"
    );
    // Nothing seen yet.
    let none = compute(&healthy(), None, t(0));
    assert_eq!(
        cond(&none, condition::CRM_RATE_LIMIT_MISMATCH).reason,
        reason::NO_STATED_LIMIT
    );
    // A moving daily remainder alone changes nothing in the status.
    let mut moved = with(60, 10_000);
    if let Some(l) = moved.queue.as_mut().and_then(|s| s.crm_limits.as_mut()) {
        l.daily_remaining = Some(999);
    }
    assert_eq!(compute(&moved, Some(&lower), t(9)), lower);
}

#[test]
fn what_holds_the_scaler_is_named_with_rounded_figures() {
    let limited = |wait, used| {
        let mut o = healthy();
        o.scaling = Scaling::FromLag {
            decision: Decision {
                desired: 1,
                recommended: 8,
                lag: 4_000,
                why: Why::RateLimited(Load {
                    reporting: 1,
                    busy_permille: 1000,
                    wait_permille: wait,
                    used_permille: used,
                    allowed_per_10s: 96,
                }),
                pending: None,
                load: None,
            },
            policy: Policy {
                min: 1,
                max: 10,
                target_lag: 500,
                stabilization: Duration::from_secs(300),
            },
        };
        cond(&compute(&o, None, t(0)), "ScalingActive").clone()
    };
    let c = limited(312, 968);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "RateLimited")
    );
    assert!(
        c.message
            .contains("holding at 1 worker(s) although the lag asks for 8")
            && c.message.contains("about 30% of their time")
            && c.message.contains("about 100% of the 96 requests per 10s"),
        "{}",
        c.message
    );
    assert_eq!(
        limited(329, 951).message,
        c.message,
        "small moves rewrite nothing"
    );

    let mut o = healthy();
    o.scaling = scaled(4, Why::Stabilizing, 10, 300);
    let s = compute(&o, None, t(0));
    let c = cond(&s, "ScalingActive");
    assert_eq!(c.reason, "Stabilizing");
    assert!(c.message.contains("300s"), "{}", c.message);
    o.scaling = scaled(5, Why::StepLimited, 10, 300);
    assert_eq!(
        cond(&compute(&o, None, t(0)), "ScalingActive").reason,
        "StepLimited"
    );
}

#[test]
fn a_pending_scale_down_is_kept_in_status_and_survives_an_unread_queue() {
    let pending = PendingScaleDown {
        replicas: 2,
        since: t(0),
    };
    let mut o = healthy();
    o.scaling = Scaling::FromLag {
        decision: Decision {
            desired: 4,
            recommended: 1,
            lag: 100,
            why: Why::Stabilizing,
            pending: Some(pending.clone()),
            load: None,
        },
        policy: Policy {
            min: 1,
            max: 10,
            target_lag: 500,
            stabilization: Duration::from_secs(300),
        },
    };
    let s = compute(&o, None, t(1));
    let stored = s.workers.as_ref().unwrap().pending_scale_down.clone();
    assert_eq!(stored, Some(pending.clone()));
    // Redis unreadable: the replicas and the window stay as stored.
    o.queue = None;
    o.redis_error = Some("timeout".into());
    o.scaling = Scaling::LagUnknown { kept: 4 };
    let again = compute(&o, Some(&s), t(2));
    assert_eq!(again.workers.unwrap().pending_scale_down, Some(pending));
    // Paused: nothing pending.
    o.scaling = Scaling::Paused;
    let paused = compute(&o, Some(&s), t(3));
    assert_eq!(paused.workers.unwrap().pending_scale_down, None);
}
