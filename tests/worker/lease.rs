//! Object write locks held for as long as a batch writes: a batch that outlived its lock
//! (waiting for budget, behind a slow call) sends nothing more for an object another
//! worker took over, so an older version never lands after a newer one.

use std::time::{Duration, Instant};

use syncline::queue::{Claim, QueueKeys};
use syncline::sim::hubspot::FaultConfig;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;

fn claim(key: &str, version: i64, digest: &str) -> Claim {
    Claim {
        object_key: key.into(),
        version,
        digest: digest.into(),
    }
}

#[tokio::test]
async fn a_lapsed_lock_is_renewed_only_while_nobody_moved_the_object_on() {
    let h = Harness::start(100_000, 100_000, 10).await;
    let q = &h.queue;
    let lock = QueueKeys::new("shops", "acme").object_lock("orders:7");
    let short = Duration::from_millis(100);
    let mine = claim("orders:7", 1_000, "a");
    q.claim_objects("a", short, std::slice::from_ref(&mine))
        .await
        .unwrap();

    // Held: renewed, for the new ttl.
    let renewed = q.renew_objects("a", Duration::from_secs(30), std::slice::from_ref(&mine));
    assert_eq!(renewed.await.unwrap(), vec![true]);
    let ttl: i64 = h.redis.cli(&["PTTL", &lock]).trim().parse().unwrap();
    assert!(ttl > 1_000, "ttl {ttl} ms after renewing for 30 s");

    // Lapsed, and nobody touched the object: taken again.
    q.renew_objects("a", short, std::slice::from_ref(&mine))
        .await
        .unwrap();
    tokio::time::sleep(short * 2).await;
    assert_eq!(h.redis.cli(&["EXISTS", &lock]).trim(), "0");
    let again = q.renew_objects("a", short, std::slice::from_ref(&mine));
    assert_eq!(again.await.unwrap(), vec![true]);
    assert_eq!(h.redis.cli(&["GET", &lock]).trim(), "a");

    // Lapsed and taken over with a newer version: lost, while the other holds it…
    tokio::time::sleep(short * 2).await;
    let newer = claim("orders:7", 2_000, "b");
    let taken = q.claim_objects("b", Duration::from_secs(30), std::slice::from_ref(&newer));
    assert_eq!(
        taken.await.unwrap(),
        vec![syncline::queue::ClaimOutcome::Claimed]
    );
    let lost = q.renew_objects("a", short, std::slice::from_ref(&mine));
    assert_eq!(lost.await.unwrap(), vec![false]);
    assert_eq!(h.redis.cli(&["GET", &lock]).trim(), "b");
    // …and after it committed (no lock left at all).
    q.commit_objects("b", std::slice::from_ref(&newer))
        .await
        .unwrap();
    let after = q.renew_objects("a", short, std::slice::from_ref(&mine));
    assert_eq!(after.await.unwrap(), vec![false]);
    assert_eq!(h.redis.cli(&["EXISTS", &lock]).trim(), "0");
}

/// The race CI once caught with two lanes: worker `a` claims order 1, its contacts call
/// outlasts the lock, and meanwhile "b" claims a newer version. `a` must not send the
/// deal of its older version; its event goes back, waits while `b` holds the object, and
/// is dropped as stale once `b` committed.
#[tokio::test]
async fn a_batch_that_outlived_its_lock_sends_nothing_for_an_object_taken_over() {
    let h = Harness::start(100_000, 100_000, 10).await;
    h.sim.sim.set_faults(FaultConfig {
        latency_ms: 1_500,
        only_path: "/contacts/batch/upsert".into(),
        ..FaultConfig::default()
    });
    let keys = QueueKeys::new("shops", "acme");
    let watermark = keys.watermark("orders:1");
    let lock = keys.object_lock("orders:1");
    let a = h.worker("a", Duration::from_millis(400));
    h.enqueue_orders(1..=1, 1).await;

    // `a` claimed the order; wait for its lock to lapse, then take the object over.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.redis.cli(&["GET", &lock]).trim() != "a" {
        assert!(Instant::now() < deadline, "worker a never claimed order 1");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let newer = claim("orders:1", i64::MAX / 2, "newer");
    loop {
        let outcome = h
            .queue
            .claim_objects("b", Duration::from_secs(60), std::slice::from_ref(&newer))
            .await
            .unwrap();
        if outcome == vec![syncline::queue::ClaimOutcome::Claimed] {
            break;
        }
        assert!(Instant::now() < deadline, "a's lock never lapsed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lease_lost = || a.metrics.retries.with_label_values(&["lease_lost"]).get();
    h.until(10, "a's event to lose its lease", || lease_lost() == 1)
        .await;
    // The contact went out before the takeover; nothing of the deal did.
    assert!(
        h.objects(ObjectType::Deals, "syncline_order_key")
            .is_empty()
    );
    assert_eq!(h.objects(ObjectType::Contacts, "email").len(), 1);
    assert!(h.redis.cli(&["GET", &watermark]).contains("open"));

    // While `b` holds the object the event waits (a second lane may have taken over the
    // entry itself while it was idle past the visibility timeout: a second copy, busy too).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (lag, retries, _) = h.depth().await;
    assert!(
        lag + retries >= 1,
        "the event left the queue while b held the object"
    );
    assert!(
        h.objects(ObjectType::Deals, "syncline_order_key")
            .is_empty()
    );
    h.queue
        .commit_objects("b", std::slice::from_ref(&newer))
        .await
        .unwrap();
    h.drained(15).await;
    assert!(
        h.objects(ObjectType::Deals, "syncline_order_key")
            .is_empty()
    );
    assert!(h.dead_letters().await.is_empty());
    assert!(a.metrics.watermark_drops.get() >= 1);
    assert_eq!(lease_lost(), 1, "lost more than once");
    a.stop().await;
}

/// A batch that lasts longer than the visibility timeout, each of its calls well within
/// it: its entry stays with it, so a reclaim of idle entries (another lane's or another
/// pod's) never takes it over to write it a second time.
#[tokio::test]
async fn a_long_batch_keeps_its_entries_from_being_reclaimed() {
    let h = Harness::start(100_000, 100_000, 10).await;
    h.sim.sim.set_faults(FaultConfig {
        latency_ms: 250,
        ..FaultConfig::default()
    });
    let visibility = Duration::from_millis(600);
    let a = h.worker("a", visibility);
    h.enqueue_orders(1..=1, 1).await;
    let started = Instant::now();
    let mut taken = Vec::new();
    loop {
        let stale = h.queue.claim_stale("b", visibility, 10).await.unwrap();
        taken.extend(stale.into_iter().map(|e| e.id));
        let (lag, retries, _) = h.depth().await;
        if lag == 0 && retries == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "order 1 never synced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    assert!(
        took > visibility * 2,
        "the batch took {took:?}, too short to outlast the visibility timeout"
    );
    assert!(
        taken.is_empty(),
        "entries {taken:?} were taken over while the batch still worked on them"
    );
    assert_eq!(h.objects(ObjectType::Deals, "syncline_order_key").len(), 1);
    assert_eq!(
        a.metrics.retries.with_label_values(&["lease_lost"]).get(),
        0
    );
    a.stop().await;
}
