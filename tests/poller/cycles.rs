//! Poll cycles against real Redis and the simulators: ties across many pages, a poller
//! killed mid-pagination, the lease and its fencing.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use syncline::model::{ObjectKind, StorePlatform};
use syncline::poller::cursor::Cursor;
use syncline::sim::store::StoreSimSettings;

use crate::clients::PLATFORMS;
use crate::common::{ago, cursor, poller, queue, stream_len, stream_objects};
use crate::support::redis::RedisServer;
use crate::support::stores::StoreSimServer;

#[tokio::test]
async fn ten_thousand_orders_with_one_updated_at_over_many_pages_none_skipped() {
    for platform in PLATFORMS {
        let redis = RedisServer::start();
        // A Plus-sized Shopify bucket (400, 20/s): this test is about ties, not pacing.
        let mut settings = StoreSimSettings::new(platform);
        (settings.bucket_size, settings.leak_per_second) = (400, 20.0);
        let store = StoreSimServer::start(settings).await;
        let tie = Timestamp::from_second(ago(60).as_second()).unwrap();
        store.sim.seed(ObjectKind::Orders, 1..=10_000, tie);
        let p = poller(&store, &redis, "a", 100, Duration::from_secs(30), None);
        let lease = p.acquire().await.unwrap().unwrap();
        let q = queue(&redis);
        let start = Cursor::at(ago(120)).to_text();
        assert!(
            q.save_cursor(&lease.value(), "orders", &start, None)
                .await
                .unwrap()
        );
        let started = std::time::Instant::now();
        let report = p.poll_once(&lease).await.unwrap();
        eprintln!(
            "{platform:?}: 10,000 tied orders polled in {:?}",
            started.elapsed()
        );
        assert_eq!(report.objects, 10_000, "{platform:?}");
        // 100 pages of orders and one empty page of customers; offset-paginated stores
        // also seek once from the lookback start to the tie (re-reading its first page).
        let seek = u64::from(platform != StorePlatform::Shopify);
        assert_eq!(report.pages, 101 + seek, "{platform:?}");
        let seen = stream_objects(&redis).await;
        assert_eq!(
            seen.len(),
            10_000,
            "{platform:?}: distinct orders in the stream"
        );
        assert!(seen.values().all(|n| *n == 1));
        assert_eq!(
            cursor(&q, "orders").await,
            Some(Cursor {
                at: tie,
                id: "10000".into()
            })
        );
        // The next cycle re-reads the tie (inclusive, with lookback) and enqueues nothing.
        let again = p.poll_once(&lease).await.unwrap();
        assert_eq!((again.objects, again.enqueued), (10_000, 0), "{platform:?}");
    }
}

#[tokio::test]
async fn a_poller_killed_mid_pagination_is_resumed_by_the_next_and_nothing_is_lost() {
    let redis = RedisServer::start();
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    for group in 0..500u64 {
        // 5,000 orders, ten per second: ties inside pages and across page boundaries.
        let at = ago(300) + jiff::SignedDuration::from_secs(group as i64 / 2);
        store
            .sim
            .seed(ObjectKind::Orders, group * 10 + 1..=group * 10 + 10, at);
    }
    let q = queue(&redis);
    let ttl = Duration::from_millis(1500);
    let a = poller(&store, &redis, "pod-a", 250, ttl, None);
    let lease_a = a.acquire().await.unwrap().unwrap();
    let start = Cursor::at(ago(400));
    assert!(
        q.save_cursor(&lease_a.value(), "orders", &start.to_text(), None)
            .await
            .unwrap()
    );
    let a_value = lease_a.value();
    let killed = tokio::spawn(async move {
        let _ = a.poll_once(&lease_a).await;
    });
    while stream_len(&q).await < 1_500 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    killed.abort();
    let _ = killed.await;
    // Commands the dead pod had already written to the socket still land in Redis.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let enqueued_before = stream_len(&q).await;
    assert!(
        enqueued_before < 5_000,
        "the kill came mid-pagination ({enqueued_before})"
    );
    assert_eq!(
        cursor(&q, "orders").await,
        Some(start.clone()),
        "the cursor never ran ahead"
    );
    // Another pod cannot start until the dead pod's lease expires…
    let b = poller(&store, &redis, "pod-b", 250, ttl, None);
    assert!(b.acquire().await.unwrap().is_none());
    let waited = Instant::now();
    let lease_b = loop {
        if let Some(lease) = b.acquire().await.unwrap() {
            break lease;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(waited.elapsed() >= Duration::from_millis(500));
    assert!(lease_b.token > a_value.split(':').next().unwrap().parse().unwrap());
    // …and the dead pod's cursor writes are fenced off.
    assert!(
        !q.save_cursor(&a_value, "orders", "2099-01-01T00:00:00Z|1", None)
            .await
            .unwrap()
    );
    let report = b.poll_once(&lease_b).await.unwrap();
    assert_eq!(report.objects, 5_000);
    assert_eq!(
        report.enqueued,
        5_000 - enqueued_before,
        "only what the dead pod had not enqueued"
    );
    let seen = stream_objects(&redis).await;
    assert_eq!(seen.len(), 5_000);
    assert!(seen.values().all(|n| *n == 1), "no object enqueued twice");
    assert_eq!(cursor(&q, "orders").await.unwrap().id, "5000");
}

#[tokio::test]
async fn a_lease_renews_while_held_and_a_released_lease_is_free_at_once() {
    let redis = RedisServer::start();
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    let ttl = Duration::from_millis(600);
    let a = poller(&store, &redis, "pod-a", 100, ttl, None);
    let b = poller(&store, &redis, "pod-b", 100, ttl, None);
    let lease = a.acquire().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(lease.alive(), "renewed in the background");
    assert!(b.acquire().await.unwrap().is_none());
    lease.release(&a.queue).await;
    let taken = b.acquire().await.unwrap().unwrap();
    assert!(taken.alive());
}

#[tokio::test]
async fn a_poller_whose_lease_is_taken_stops_mid_wait_and_cannot_move_the_cursor() {
    let redis = RedisServer::start();
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    store.sim.seed(ObjectKind::Orders, 1..=600, ago(60));
    let q = queue(&redis);
    let ttl = Duration::from_millis(900);
    let a = poller(&store, &redis, "pod-a", 250, ttl, None);
    let lease_a = a.acquire().await.unwrap().unwrap();
    let start = Cursor::at(ago(120));
    assert!(
        q.save_cursor(&lease_a.value(), "orders", &start.to_text(), None)
            .await
            .unwrap()
    );
    // The store throttles with a long Retry-After: pod A sits in its back-off…
    store.sim.set_faults(syncline::sim::store::StoreFaults {
        burst_429: 1,
        retry_after: 20.0,
    });
    let polling = tokio::spawn(async move { a.poll_once(&lease_a).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // …when the lease is taken from it (as after a partition: the key expired meanwhile).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let lease_key = syncline::queue::QueueKeys::new("shops", "acme").poller();
    let _: () = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let b = poller(&store, &redis, "pod-b", 250, ttl, None);
    let lease_b = b.acquire().await.unwrap().unwrap();
    let stopped = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(5), polling).await;
    let result = result
        .expect("pod A stopped well before its Retry-After ran out")
        .unwrap();
    assert!(
        matches!(result, Err(syncline::poller::PollerError::LeaseLost)),
        "{result:?}"
    );
    assert!(stopped.elapsed() < ttl, "stopped at its next renewal");
    assert_eq!(cursor(&q, "orders").await, Some(start));
    assert!(lease_b.alive());
}
