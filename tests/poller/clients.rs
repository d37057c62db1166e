//! The store REST clients against the simulators over real HTTP: every page to the end,
//! ties never skipped, 429s waited out per Retry-After without a storm.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use syncline::connectors::store::map_record;
use syncline::connectors::store::rest::{ClientSettings, Credentials, Endpoint, StoreClient};
use syncline::model::{ObjectKind, StorePlatform};
use syncline::sim::store::StoreFaults;

use crate::support::stores::StoreSimServer;

pub const PLATFORMS: [StorePlatform; 3] = [
    StorePlatform::Shopify,
    StorePlatform::WooCommerce,
    StorePlatform::Magento,
];

/// Where `store` lists from, `page_size` items a page.
pub fn endpoint_of(store: &StoreSimServer, page_size: u32) -> Endpoint {
    Endpoint {
        platform: store.sim.settings.platform,
        base: reqwest::Url::parse(&store.url("/")).unwrap(),
        api_version: "2025-07".into(),
        api_path: "/wp-json/wc/v3".into(),
        store_code: "default".into(),
        page_size,
    }
}

/// The simulators' default credentials.
pub fn credentials_of(platform: StorePlatform) -> Credentials {
    match platform {
        StorePlatform::Shopify => Credentials::ShopifyToken("store-token".into()),
        StorePlatform::WooCommerce => Credentials::ConsumerKey {
            key: "ck_test".into(),
            secret: "cs_test".into(),
        },
        StorePlatform::Magento => Credentials::Bearer("store-token".into()),
    }
}

/// A client of `store` with the simulator's default credentials.
pub fn client_of(store: &StoreSimServer, page_size: u32) -> StoreClient {
    let credentials = credentials_of(store.sim.settings.platform);
    StoreClient::new(
        endpoint_of(store, page_size),
        credentials,
        ClientSettings::default(),
    )
    .unwrap()
}

/// Lists `kind` since `since` to the end: the ids seen, in order, and the page count.
async fn list_all(
    client: &StoreClient,
    kind: ObjectKind,
    since: Timestamp,
) -> (Vec<String>, usize) {
    let mut pager = client.list_since(kind, since).unwrap();
    let (mut ids, mut pages) = (Vec::new(), 0);
    while let Some(items) = pager.next_page().await.unwrap() {
        pages += 1;
        for item in items {
            ids.push(
                map_record(client.platform(), kind, &item)
                    .unwrap()
                    .id()
                    .to_string(),
            );
        }
    }
    (ids, pages)
}

#[tokio::test]
async fn every_platform_lists_ties_and_history_to_the_end_inclusively() {
    let tie: Timestamp = "2026-11-20T15:00:00Z".parse().unwrap();
    for platform in PLATFORMS {
        let store = StoreSimServer::of(platform).await;
        store.sim.seed(
            ObjectKind::Orders,
            1..=50,
            "2026-11-20T14:00:00Z".parse().unwrap(),
        );
        store.sim.seed(ObjectKind::Orders, 51..=1050, tie);
        store.sim.seed(
            ObjectKind::Orders,
            1051..=1100,
            "2026-11-20T16:00:00Z".parse().unwrap(),
        );
        let (ids, pages) = list_all(&client_of(&store, 100), ObjectKind::Orders, tie).await;
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (1050, 1050), "{platform:?}");
        assert_eq!(pages, 11, "{platform:?}");
        assert_eq!(
            ids.first().map(String::as_str),
            Some("51"),
            "{platform:?}: inclusive of since"
        );
        assert_eq!(store.sim.stats().bad_requests, 0);
    }
}

/// In one shown second the store's finer order is not id order: `(id, ms into the second)`.
const SUB_SECOND: [(u64, i64); 6] = [(7, 100), (3, 250), (9, 400), (2, 600), (8, 750), (1, 900)];

#[tokio::test]
async fn objects_apart_by_less_than_a_second_are_all_listed_across_page_boundaries() {
    let second: Timestamp = "2026-11-20T15:00:00Z".parse().unwrap();
    let ms = jiff::SignedDuration::from_millis;
    for platform in PLATFORMS {
        let store = StoreSimServer::of(platform).await;
        store.sim.seed(ObjectKind::Orders, [20], second - ms(2000));
        for (id, at) in SUB_SECOND {
            store.sim.seed(ObjectKind::Orders, [id], second + ms(at));
        }
        store.sim.seed(ObjectKind::Orders, [30], second + ms(1500));
        // A start inside the second (a cursor minus lookback, or now): the whole second
        // is listed, since times are sent rounded down; every page size puts a boundary
        // between objects of the second.
        for since in [second, second + ms(500), second + ms(999)] {
            for page_size in [1, 2, 4] {
                let client = client_of(&store, page_size);
                let (ids, _) = list_all(&client, ObjectKind::Orders, since).await;
                let unique: BTreeSet<u64> = ids.iter().map(|id| id.parse().unwrap()).collect();
                let want: BTreeSet<u64> =
                    SUB_SECOND.iter().map(|(id, _)| *id).chain([30]).collect();
                let label = format!("{platform:?} since {since} page size {page_size}");
                assert_eq!(unique, want, "{label}");
                assert_eq!(ids.len(), unique.len(), "{label}: returned twice");
            }
        }
        assert_eq!(store.sim.stats().bad_requests, 0, "{platform:?}");
    }
}

#[tokio::test]
async fn a_429_burst_is_waited_out_per_retry_after_without_a_storm() {
    for platform in PLATFORMS {
        let store = StoreSimServer::of(platform).await;
        store.sim.seed(
            ObjectKind::Customers,
            1..=300,
            "2026-11-20T15:00:00Z".parse().unwrap(),
        );
        store.sim.set_faults(StoreFaults {
            burst_429: 3,
            retry_after: 0.4,
        });
        let client = client_of(&store, 100);
        let started = Instant::now();
        let (ids, pages) = list_all(&client, ObjectKind::Customers, Timestamp::UNIX_EPOCH).await;
        let took = started.elapsed();
        assert_eq!(ids.len(), 300);
        let stats = store.sim.stats();
        assert_eq!(stats.forced_429, 3);
        // One request per page plus one per 429: no retry storm.
        assert_eq!(stats.requests, pages as u64 + 3, "{platform:?}");
        assert_eq!(client.stats.throttled.load(Ordering::Relaxed), 3);
        assert!(
            took >= Duration::from_millis(1200),
            "{platform:?} waited only {took:?}"
        );
    }
}

#[tokio::test]
async fn shopify_paces_itself_by_the_call_limit_header_instead_of_overflowing() {
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    store.sim.seed(
        ObjectKind::Orders,
        1..=11_000,
        "2026-11-20T15:00:00Z".parse().unwrap(),
    );
    let client = client_of(&store, 250);
    let (ids, pages) = list_all(&client, ObjectKind::Orders, Timestamp::UNIX_EPOCH).await;
    assert_eq!((ids.len(), pages), (11_000, 44));
    assert_eq!(
        store.sim.stats().rate_limited,
        0,
        "the bucket never overflowed"
    );
}

#[tokio::test]
async fn refused_credentials_are_an_error_not_a_retry() {
    let store = StoreSimServer::of(StorePlatform::Magento).await;
    let wrong = Credentials::Bearer("wrong".into());
    let settings = ClientSettings::default();
    let client = StoreClient::new(endpoint_of(&store, 10), wrong, settings).unwrap();
    let mut pager = client
        .list_since(ObjectKind::Orders, Timestamp::UNIX_EPOCH)
        .unwrap();
    let err = pager.next_page().await.unwrap_err();
    assert_eq!(err.kind(), "unauthorized");
    assert_eq!(store.sim.stats().requests, 1);
}

#[tokio::test]
async fn an_object_updated_mid_listing_does_not_make_an_offset_page_skip_another() {
    let base: Timestamp = "2026-11-20T15:00:00Z".parse().unwrap();
    for platform in PLATFORMS {
        let store = StoreSimServer::of(platform).await;
        for id in 1..=1_000u64 {
            let at = base + jiff::SignedDuration::from_secs(id as i64);
            store.sim.seed(ObjectKind::Orders, [id], at);
        }
        let client = client_of(&store, 100);
        let mut pager = client.list_since(ObjectKind::Orders, base).unwrap();
        let mut ids = BTreeSet::new();
        let mut first = true;
        while let Some(items) = pager.next_page().await.unwrap() {
            for item in items {
                ids.insert(
                    map_record(platform, ObjectKind::Orders, &item)
                        .unwrap()
                        .id()
                        .to_string(),
                );
            }
            if std::mem::take(&mut first) {
                // Order 5 is edited now: it leaves page 1 for the end of the listing.
                store.sim.mutate(ObjectKind::Orders, &[5], None);
            }
        }
        assert_eq!(ids.len(), 1_000, "{platform:?}: none skipped");
    }
}
