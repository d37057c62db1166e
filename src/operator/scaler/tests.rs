use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn policy() -> Policy {
    Policy {
        min: 1,
        max: 10,
        target_lag: 500,
        stabilization: Duration::from_secs(300),
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn budget(wait_permille: u32, used_permille: u32) -> Option<Load> {
    Some(Load {
        reporting: 100,
        busy_permille: 1000,
        wait_permille,
        used_permille,
        allowed_per_10s: 97,
    })
}

#[test]
fn recommends_ceil_of_lag_over_target_within_bounds() {
    let p = policy();
    assert_eq!(p.recommend(0), 1);
    assert_eq!(p.recommend(500), 1);
    assert_eq!(p.recommend(501), 2);
    assert_eq!(p.recommend(4_200), 9);
    assert_eq!(p.recommend(1_000_000), 10);
    assert_eq!(p.recommend(u64::MAX), 10);
    let zero_min = Policy { min: 0, ..p };
    assert_eq!(zero_min.recommend(0), 0);
}

#[test]
fn one_step_goes_at_most_to_double_or_four_more() {
    let p = Policy {
        max: 100,
        ..policy()
    };
    let steps: Vec<i32> = [0, 1, 2, 4, 5, 20, 99].map(|c| p.step_cap(c)).to_vec();
    assert_eq!(steps, [4, 5, 6, 8, 10, 40, 100]);
    // A spike from one worker: 1 → 5 → 10 → 20, one step per sample.
    let mut current = 1;
    let mut path = vec![current];
    for _ in 0..3 {
        let d = decide(&p, 20 * 500, current, None, None, at(0));
        current = d.desired;
        path.push(current);
        assert_eq!(d.recommended, 20);
    }
    assert_eq!(path, [1, 5, 10, 20]);
    let d = decide(&p, 100_000, 1, None, None, at(0));
    assert_eq!((d.desired, d.why), (5, Why::StepLimited));
    // At the ceiling, staying there is still the ceiling's doing.
    let d = decide(&p, 100_000, 100, None, None, at(0));
    assert_eq!((d.desired, d.why), (100, Why::MaxReplicas));
    let d = decide(&p, 50 * 500, 50, None, None, at(0));
    assert_eq!((d.desired, d.why), (50, Why::OnLag));
}

#[test]
fn a_saturated_budget_holds_and_headroom_scales() {
    let p = policy();
    let lag = 4_000; // asks for 8
    let table = [
        // (budget, current, desired, why is RateLimited)
        (None, 1, 5, false),
        (budget(50, 300), 1, 5, false),
        (budget(199, 899), 2, 6, false),
        (budget(200, 100), 1, 1, true),
        (budget(0, 900), 3, 3, true),
        (budget(800, 1000), 4, 4, true),
        // From zero nobody reports: the budget cannot keep the first worker away.
        (budget(800, 1000), 0, 4, false),
    ];
    let zero = Policy { min: 0, ..p };
    for (b, current, want, limited) in table {
        let d = decide(&zero, lag, current, b, None, at(0));
        assert_eq!(d.desired, want, "{b:?} from {current}");
        assert_eq!(
            matches!(d.why, Why::RateLimited(_)),
            limited,
            "{b:?} from {current}"
        );
    }
    // Idle workers (a report from before the spike, an outage back-off) hold too, until a
    // report shows them busy.
    let idle = Some(Load {
        busy_permille: 300,
        ..budget(0, 100).unwrap()
    });
    let d = decide(&p, lag, 2, idle, None, at(0));
    assert_eq!((d.desired, matches!(d.why, Why::WorkersIdle(_))), (2, true));
    let busy = Some(Load {
        busy_permille: 500,
        ..budget(0, 100).unwrap()
    });
    assert_eq!(decide(&p, lag, 2, busy, None, at(0)).desired, 6);
    // The workers of the last step not all reporting yet: the next step waits for them.
    let partly = Some(Load {
        reporting: 3,
        ..budget(0, 100).unwrap()
    });
    let d = decide(&p, lag, 5, partly, None, at(0));
    assert_eq!(
        (d.desired, matches!(d.why, Why::WaitingForWorkers(_))),
        (5, true)
    );
    // Saturated or not, a falling lag still scales down after the window.
    let d = decide(&p, 0, 4, budget(900, 1000), None, at(0));
    assert_eq!((d.desired, d.why), (4, Why::Stabilizing));
}

#[test]
fn down_only_after_a_whole_window_to_the_highest_asked_in_it() {
    let p = policy();
    let pend = |replicas, s| PendingScaleDown {
        replicas,
        since: Time(at(s)),
    };
    let d = decide(&p, 8 * 500, 1, None, None, at(0));
    assert_eq!(d.desired, 5, "up at once (one step)");
    let d = decide(&p, 2 * 500, 8, None, None, at(10));
    assert_eq!((d.desired, d.why), (8, Why::Stabilizing));
    assert_eq!(d.pending, Some(pend(2, 10)));
    let d = decide(&p, 3 * 500, 8, None, d.pending.as_ref(), at(200));
    assert_eq!(d.pending, Some(pend(3, 10)), "the window keeps its start");
    let d = decide(&p, 500, 8, None, d.pending.as_ref(), at(309));
    assert_eq!((d.desired, d.pending.clone()), (8, Some(pend(3, 10))));
    let d = decide(&p, 500, 8, None, d.pending.as_ref(), at(310));
    assert_eq!(
        (d.desired, d.pending.clone()),
        (3, None),
        "the highest recommendation of the window, once it passed"
    );
    // The next scale-down needs a window of its own: at most one per window.
    let d = decide(&p, 500, 3, None, None, at(311));
    assert_eq!((d.desired, d.why), (3, Why::Stabilizing));
    // Lag back up cancels a pending scale-down.
    let d = decide(&p, 3 * 500, 3, None, d.pending.as_ref(), at(320));
    assert_eq!((d.desired, d.pending), (3, None));
}

#[test]
fn without_stabilization_it_follows_the_lag_and_future_starts_count_as_now() {
    let p = Policy {
        stabilization: Duration::ZERO,
        ..policy()
    };
    let d = decide(&p, 500, 6, None, None, at(0));
    assert_eq!(d.desired, 1);
    let p = policy();
    let ahead = PendingScaleDown {
        replicas: 1,
        since: Time(at(1_000)),
    };
    let d = decide(&p, 0, 4, None, Some(&ahead), at(0));
    assert_eq!((d.desired, d.why), (4, Why::Stabilizing));
}

#[test]
fn the_budget_figures_come_from_the_reports_and_the_rate() {
    let load = LoadSummary {
        workers: 1,
        window_ms: 5_000,
        budget_wait_ms: 1_500,
        crm_ms: 3_000,
        idle_ms: 250,
        requests: 45,
        events: 900,
    };
    let b = Load::of(&load, RateBudget::new(100, Duration::from_secs(10)));
    assert_eq!(b.wait_permille, 300);
    assert_eq!(b.busy_permille, 950);
    assert_eq!(b.reporting, 1);
    assert_eq!(b.allowed_per_10s, 96);
    assert!((930..=940).contains(&b.used_permille), "{b:?}");
    assert!(b.saturated());
}

#[test]
fn policy_reads_the_spec_and_repairs_nonsense() {
    let spec = WorkersSpec {
        min_replicas: 3,
        max_replicas: 2,
        target_lag_per_worker: 0,
        ..WorkersSpec::default()
    };
    let p = Policy::of(&spec);
    assert_eq!((p.min, p.max, p.target_lag), (3, 3, 1));
}

#[test]
fn each_change_of_replicas_is_one_event_with_from_to_and_lag() {
    let p = policy();
    let up = Scaling::FromLag {
        decision: decide(&p, 1_800, 1, None, None, at(0)),
        policy: p,
    };
    let (reason, note) = scale_event(1, &up).unwrap();
    assert_eq!(reason, "ScaledUp");
    assert_eq!(
        note,
        "workers 1 → 4: lag 1800 (one worker per 500 events waiting, between 1 and 10)"
    );
    assert_eq!(scale_event(4, &up), None, "no change, no Event");
    assert_eq!(scale_event(5, &up).unwrap().0, "ScaledDown");
    assert_eq!(scale_event(3, &Scaling::Paused).unwrap().0, "ScaledDown");
    assert_eq!(scale_event(0, &Scaling::Paused), None);
}

#[test]
fn scaled_to_zero_a_due_poll_wakes_one_worker_and_the_first_event_too() {
    let p = Policy { min: 0, ..policy() };
    let d = decide_with_poll(&p, 0, 0, None, None, true, at(0));
    assert_eq!((d.desired, d.why), (1, Why::PollDue));
    let d = decide_with_poll(&p, 0, 1, None, None, true, at(1));
    assert_eq!((d.desired, d.why), (1, Why::PollDue), "kept while due");
    // Polled: back to zero after the window.
    let d = decide_with_poll(&p, 0, 1, None, None, false, at(2));
    assert_eq!((d.desired, d.why), (1, Why::Stabilizing));
    let d = decide_with_poll(&p, 0, 1, None, d.pending.as_ref(), false, at(302));
    assert_eq!(d.desired, 0);
    // One event wakes a worker at the next sample, whatever the window.
    let d = decide(&p, 1, 0, None, None, at(303));
    assert_eq!((d.desired, d.why), (1, Why::OnLag));
}

#[test]
fn a_poll_is_due_when_never_run_or_an_interval_ago() {
    let polling = PollingSpec {
        interval: "30s".into(),
        ..PollingSpec::default()
    };
    let now: Timestamp = "2026-12-01T10:00:30Z".parse().unwrap();
    let at = |t: &str| Some(t.parse::<Timestamp>().unwrap());
    assert!(poll_due(&polling, None, now));
    assert!(poll_due(&polling, at("2026-12-01T10:00:00Z"), now));
    assert!(!poll_due(&polling, at("2026-12-01T10:00:01Z"), now));
    assert!(
        !poll_due(&polling, at("2026-12-01T10:05:00Z"), now),
        "a clock ahead"
    );
}
