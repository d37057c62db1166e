//! Lost webhooks caught by polling: the store simulator sends signed webhooks to the real
//! receiver (in-process, over HTTP) with a fifth of them dropped and some duplicated,
//! reordered and delayed; a worker writes what arrives to the HubSpot simulator; one poll
//! cycle then brings every object to its newest version.

use std::time::Duration;

use syncline::model::{ObjectKind, StorePlatform};
use syncline::receiver::{ReceiverSettings, ReceiverState};
use syncline::sim::hubspot::types::ObjectType;
use syncline::sim::store::StoreSimSettings;
use syncline::sim::store::webhooks::WebhookKnobs;

use crate::common::{ago, poller};
use crate::support::stores::StoreSimServer;
use crate::worker_common::{Harness, deal_key};

const SECRET: &str = "shpss_poller_test";

/// Objects whose CRM record is missing or not at the store's newest version.
fn behind(h: &Harness, store: &StoreSimServer) -> usize {
    let deals = h.objects(ObjectType::Deals, "syncline_order_key");
    let contacts = h.objects(ObjectType::Contacts, "email");
    let data = store.sim.data();
    let orders = data.all(ObjectKind::Orders).into_iter().filter(|o| {
        let amount = deals
            .get(&deal_key(o.id))
            .and_then(|d| d.properties.get("amount"));
        amount != Some(&format!("{}.00", o.version))
    });
    let customers = data.all(ObjectKind::Customers).into_iter().filter(|c| {
        let contact = contacts.get(&format!("c{}@example.com", c.id));
        contact.and_then(|c| c.properties.get("firstname")) != Some(&format!("v{}", c.version))
    });
    orders.count() + customers.count()
}

#[tokio::test]
async fn with_a_fifth_of_webhooks_dropped_one_poll_cycle_brings_every_object_up_to_date() {
    let h = Harness::start(1_000, 1_000, 100).await;
    let mut config = h.config.clone();
    config.secrets.insert("webhookSecret", SECRET);
    let receiver = ReceiverState::new(&config, ReceiverSettings::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, syncline::receiver::router(receiver)).await });

    let mut settings = StoreSimSettings::new(StorePlatform::Shopify);
    settings.webhook_secret = SECRET.into();
    let store = StoreSimServer::start(settings).await;
    store.sim.set_webhooks(WebhookKnobs {
        url: Some(receiver_url),
        drop: 0.2,
        duplicate: 0.1,
        reorder: 0.1,
        delay: 0.1,
        delay_ms: 150,
        seed: 6,
    });
    let p = poller(
        &store,
        &h.redis,
        "pod-a",
        250,
        Duration::from_secs(30),
        None,
    );
    let lease = p.acquire().await.unwrap().unwrap();
    for object in ["orders", "customers"] {
        let start = syncline::poller::cursor::Cursor::at(ago(300)).to_text();
        assert!(
            p.queue
                .save_cursor(&lease.value(), object, &start, None)
                .await
                .unwrap()
        );
    }
    let worker = h.worker("w1", Duration::from_secs(30));

    // 300 orders and 100 customers created, then half of each updated 30 s later.
    let ids = |n: u64| (1..=n).collect::<Vec<u64>>();
    store
        .sim
        .mutate(ObjectKind::Orders, &ids(300), Some(ago(120)));
    store
        .sim
        .mutate(ObjectKind::Customers, &ids(100), Some(ago(120)));
    store
        .sim
        .mutate(ObjectKind::Orders, &ids(150), Some(ago(90)));
    store
        .sim
        .mutate(ObjectKind::Customers, &ids(50), Some(ago(90)));
    assert!(store.sim.webhooks_settled(Duration::from_secs(20)).await);
    let stats = store.sim.stats();
    assert_eq!(
        stats.webhooks_failed, 0,
        "every delivery sent was accepted: {stats:?}"
    );
    assert!(
        stats.webhooks_dropped >= 80,
        "about a fifth of 600 dropped: {stats:?}"
    );
    h.drained(60).await;
    let missed = behind(&h, &store);
    assert!(missed > 0, "the dropped webhooks left objects behind");

    let deal_writes = || {
        let store = h.sim.sim.store();
        let deals = store
            .writes()
            .iter()
            .filter(|w| w.object_type == ObjectType::Deals);
        deals.count()
    };
    let writes_before = deal_writes();
    let report = p.poll_once(&lease).await.unwrap();
    assert_eq!(report.objects, 400);
    h.drained(60).await;
    assert_eq!(
        behind(&h, &store),
        0,
        "{missed} objects were behind before the poll"
    );
    assert!(h.sim.sim.stats().duplicates.is_empty());
    // Versions the webhooks had delivered are not written again: the poll only wrote
    // the orders that were behind.
    assert!(
        deal_writes() - writes_before <= missed,
        "{} deal writes",
        deal_writes() - writes_before
    );
    eprintln!(
        "webhooks: {} sent, {} dropped; {missed} objects behind; poll enqueued {} of {}",
        stats.webhooks_sent, stats.webhooks_dropped, report.enqueued, report.objects
    );
    worker.stop().await;
}
