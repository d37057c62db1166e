//! The backfill: 50,000 historical orders enqueued once, resumable after a kill, progress
//! recorded in Redis. Enqueue only (the CRM side is the worker's tests' business).

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use syncline::model::{ObjectKind, StorePlatform};
use syncline::sim::store::StoreSimSettings;

use crate::common::{ago, cursor, poller, queue, stream_len, stream_objects};
use crate::support::redis::RedisServer;
use crate::support::stores::StoreSimServer;

#[tokio::test]
async fn a_backfill_of_50000_orders_completes_and_resumes_after_a_kill() {
    let redis = RedisServer::start();
    let mut settings = StoreSimSettings::new(StorePlatform::Shopify);
    (settings.bucket_size, settings.leak_per_second) = (400, 20.0);
    let store = StoreSimServer::start(settings).await;
    let since = Timestamp::from_second(ago(30 * 86_400).as_second()).unwrap();
    for minute in 0..10_000u64 {
        // Five orders a minute, oldest first: ids grow with (updated_at, id).
        let at = since + SignedDuration::from_mins(minute as i64);
        store
            .sim
            .seed(ObjectKind::Orders, minute * 5 + 1..=minute * 5 + 5, at);
    }
    let q = queue(&redis);
    // Long enough that a renewal late on a machine busy with the other suites does not
    // lose the lease mid-backfill (1.5 s did once in CI); pod-b waits this long after the
    // kill for the lease to lapse.
    let ttl = Duration::from_secs(5);
    let a = poller(&store, &redis, "pod-a", 250, ttl, Some(since));
    let lease_a = a.acquire().await.unwrap().unwrap();
    let started = Instant::now();
    let killed = tokio::spawn(async move { a.backfill(&lease_a).await });
    while stream_len(&q).await < 20_000 {
        // A run that stopped early (its lease lost on a starved machine, say) fails the
        // test with its error instead of leaving it waiting for ever.
        if killed.is_finished() {
            panic!("pod-a's backfill ended before the kill: {:?}", killed.await);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    killed.abort();
    let _ = killed.await;
    let first_part = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = stream_len(&q).await;
    let progress = q.backfill_progress().await.unwrap();
    assert!(!progress.object("orders").done);
    let counted = progress.object("orders").count;
    let resume = cursor(&q, "backfill:orders").await.unwrap();
    let resume_id: u64 = resume.id.parse().unwrap();
    assert_eq!(counted, resume_id, "progress is saved with the cursor");
    assert!(
        counted <= before,
        "the cursor never runs ahead of the stream"
    );
    let seen = stream_objects(&redis).await;
    assert!((1..=resume_id).all(|id| seen.contains_key(&format!("orders:{id}"))));

    let b = poller(&store, &redis, "pod-b", 250, ttl, Some(since));
    let lease_b = loop {
        if let Some(lease) = b.acquire().await.unwrap() {
            break lease;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let resumed = Instant::now();
    let report = b.backfill(&lease_b).await.unwrap();
    let second_part = resumed.elapsed();
    let progress = q.backfill_progress().await.unwrap();
    assert!(progress.object("orders").done);
    assert!(progress.object("orders").finished_at.is_some());
    assert_eq!(progress.object("orders").count, 50000);
    assert!(progress.object("customers").done);
    assert_eq!(
        report.objects,
        50_000 - counted,
        "the resumed run skips what was saved"
    );
    let seen = stream_objects(&redis).await;
    assert_eq!(seen.len(), 50_000);
    assert!(seen.values().all(|n| *n == 1), "nothing enqueued twice");
    let total = first_part + second_part;
    eprintln!(
        "backfill: 50,000 orders in {total:?} ({:.0}/s; {before} before the kill, {} after)",
        50_000.0 / total.as_secs_f64(),
        report.enqueued
    );
    // Done means done: a later run lists nothing.
    assert_eq!(b.backfill(&lease_b).await.unwrap().pages, 0);
}

#[tokio::test]
async fn a_resumed_backfill_finds_a_smaller_id_listed_after_the_cursor_in_its_second() {
    let redis = RedisServer::start();
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    let since = Timestamp::from_second(ago(86_400).as_second()).unwrap();
    let second = since + SignedDuration::from_secs(60);
    let ms = SignedDuration::from_millis;
    // The run that dies has listed 7 and 3 (one shown second, the store's finer order).
    store.sim.seed(ObjectKind::Orders, [7], second + ms(100));
    store.sim.seed(ObjectKind::Orders, [3], second + ms(400));
    let q = queue(&redis);
    // Long enough that a renewal late on a machine busy with the other suites does not
    // lose the lease mid-backfill (1.5 s did once in CI); pod-b waits this long after the
    // kill for the lease to lapse.
    let ttl = Duration::from_secs(5);
    let p = poller(&store, &redis, "pod-a", 2, ttl, Some(since));
    let lease = p.acquire().await.unwrap().unwrap();
    p.backfill(&lease).await.unwrap();
    assert_eq!(cursor(&q, "backfill:orders").await.unwrap().id, "7");
    // As if it died there: not done, and 9 and then 2 follow in the same second.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys = syncline::queue::QueueKeys::new(crate::common::KEYS.0, crate::common::KEYS.1);
    let _: () = redis::cmd("HDEL")
        .arg(keys.backfill())
        .arg("orders:done")
        .query_async(&mut conn)
        .await
        .unwrap();
    store.sim.seed(ObjectKind::Orders, [9], second + ms(700));
    store.sim.seed(ObjectKind::Orders, [2], second + ms(900));
    let report = p.backfill(&lease).await.unwrap();
    assert_eq!(
        report.objects, 2,
        "9 and 2 are new; 7 and 3 not counted again"
    );
    let seen = stream_objects(&redis).await;
    for id in [7, 3, 9, 2] {
        assert_eq!(seen.get(&format!("orders:{id}")), Some(&1), "order {id}");
    }
    let progress = q.backfill_progress().await.unwrap();
    assert_eq!(progress.object("orders").count, 4);
}
