//! `changes`, against reconciles done the way `apply_pipeline` does them: every sample
//! that would change the workers or the status asks for a reconcile, and no other does.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::api::examples;
use crate::operator::status::{DeploymentView, SecretState};

const EVERY: Duration = Duration::from_secs(10);

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000)
        .unwrap()
        .checked_add(SignedDuration::from_secs(secs))
        .unwrap()
}

fn up(n: i32) -> DeploymentView {
    DeploymentView {
        wanted: n,
        replicas: n,
        ready: n,
        available: n,
        trouble: None,
    }
}

/// What a reconcile at `now` with `sample` (`None`: Redis down) leaves behind, as if the
/// worker Deployment took its new replicas at once.
fn reconcile(last: Option<&Reconciled>, sample: Option<QueueSample>, now: Timestamp) -> Reconciled {
    let p = examples::pipeline("shopify.yaml");
    let stored = last.and_then(|l| l.status.workers.as_ref());
    let scaling = scaler::scale(&p.spec, stored, false, sample.as_ref(), now);
    let observed = Observed {
        generation: Some(1),
        secret: SecretState::Resolved,
        redis_error: sample.is_none().then(|| "connection refused".to_string()),
        receiver: Some(up(2)),
        workers: Some(up(scaling.replicas())),
        paused: false,
        webhook_url: Some("http://shop-receiver.shops.svc:8080/webhooks/shopify".into()),
        queue: sample.clone(),
        scaling,
        queue_write_every: EVERY,
        replay: None,
        backfill_objects: None,
        declared_rate: p.spec.crm_rate_limit.clone(),
    };
    let status = status::compute(&observed, last.map(|l| &l.status), Time(now));
    Reconciled {
        spec: p.spec,
        observed,
        status,
        raw_unauthorized: sample.and_then(|s| s.crm_unauthorized),
        target: RedisTarget::plain("redis://127.0.0.1:1"),
        keys: QueueKeys::new("shops", "shop"),
        every: Duration::from_secs(5),
    }
}

fn lag(n: u64) -> QueueSample {
    QueueSample {
        lag: n,
        ..QueueSample::default()
    }
}

#[test]
fn only_a_sample_that_changes_something_asks_for_a_reconcile() {
    let last = reconcile(None, Some(lag(0)), at(0));
    let unauthorized = QueueSample {
        crm_unauthorized: Some("401 token expired".into()),
        ..lag(0)
    };
    for (sample, secs, want, why) in [
        (Some(lag(0)), 1, false, "nothing moved"),
        (Some(lag(0)), 600, false, "nothing moved, much later"),
        (
            Some(lag(3)),
            1,
            false,
            "figures moved, written less than 10 s ago",
        ),
        (Some(lag(3)), 11, true, "figures moved, due for writing"),
        (Some(lag(5_000)), 1, true, "the lag asks for more workers"),
        (Some(unauthorized), 1, true, "the CRM refuses the token"),
        (None, 1, true, "Redis stopped answering"),
    ] {
        assert_eq!(changes(&last, sample.as_ref(), at(secs)), want, "{why}");
    }

    let down = reconcile(None, None, at(0));
    assert!(!changes(&down, None, at(30)), "Redis still down");
    assert!(changes(&down, Some(&lag(0)), at(1)), "Redis back");
}

/// A spike and its end, sampled every 5 s: the reconciles the sampler asks for scale up at
/// once, and scale down once the stabilization window passed, with no reconcile between.
#[test]
fn a_spike_reconciles_on_the_way_up_and_once_its_window_passed() {
    let mut last = reconcile(None, Some(lag(0)), at(0));
    let mut asked = Vec::new();
    for step in 1..=80 {
        let secs = step * 5;
        let sample = if (10..30).contains(&secs) {
            lag(5_000)
        } else {
            lag(0)
        };
        if changes(&last, Some(&sample), at(secs)) {
            asked.push(secs);
            last = reconcile(Some(&last), Some(sample), at(secs));
        }
    }
    let replicas = last.observed.scaling.replicas();
    assert_eq!(replicas, 1, "scaled back down by the end: {asked:?}");
    assert!(
        asked.contains(&10),
        "the spike's first sample reconciles: {asked:?}"
    );
    let window = i64::from(
        examples::pipeline("shopify.yaml")
            .spec
            .workers
            .scale_down_stabilization_seconds,
    );
    let down = asked
        .iter()
        .copied()
        .filter(|s| *s >= 30 + window)
        .collect::<Vec<_>>();
    assert!(
        !down.is_empty(),
        "a reconcile once the window passed: {asked:?}"
    );
    assert!(
        asked.len() <= 12,
        "{} reconciles for one spike: {asked:?}",
        asked.len()
    );
}
