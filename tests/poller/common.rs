//! Fixtures of the poller tests: a poller over a store simulator and a real redis-server,
//! and readers of what reached the stream and the cursors.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use prometheus::Registry;
use syncline::model::ObjectKind;
use syncline::poller::cursor::Cursor;
use syncline::poller::{Poller, PollerMetrics, PollerSettings};
use syncline::queue::{Queue, QueueKeys, QueueSettings};

use crate::clients::client_of;
use crate::support::redis::RedisServer;
use crate::support::stores::StoreSimServer;

pub const KEYS: (&str, &str) = ("shops", "acme");

pub fn queue(redis: &RedisServer) -> Queue {
    Queue::new(
        &redis.url(),
        QueueKeys::new(KEYS.0, KEYS.1),
        QueueSettings::default(),
    )
    .unwrap()
}

/// A poller of `kinds` named `holder`, `page_size` items a page, with a `ttl` lease.
pub fn poller(
    store: &StoreSimServer,
    redis: &RedisServer,
    holder: &str,
    page_size: u32,
    ttl: Duration,
    backfill: Option<Timestamp>,
) -> Poller {
    let settings = PollerSettings {
        interval: Duration::from_secs(60),
        lookback: Duration::from_secs(600),
        backfill_since: backfill,
        lease_ttl: ttl,
        holder: holder.into(),
    };
    let metrics = PollerMetrics::new(&Registry::new()).unwrap();
    let kinds = [ObjectKind::Orders, ObjectKind::Customers];
    Poller::new(
        client_of(store, page_size),
        queue(redis),
        &kinds,
        settings,
        metrics,
        "shops/acme",
    )
}

/// How often each `object_kind:object_id` occurs in the events stream.
pub async fn stream_objects(redis: &RedisServer) -> HashMap<String, usize> {
    let client = redis::Client::open(redis.url()).unwrap();
    // The default 500 ms response timeout is too short for big replies on a busy machine.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let connect = client.get_multiplexed_async_connection_with_config(&config);
    let mut conn = connect.await.unwrap();
    let mut out = HashMap::new();
    let mut from = "-".to_string();
    loop {
        // Paged, so a 50,000-entry stream never makes one huge reply.
        let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
            .arg(QueueKeys::new(KEYS.0, KEYS.1).events())
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(2_000)
            .query_async(&mut conn)
            .await
            .unwrap();
        let Some((last, _)) = entries.last() else {
            break;
        };
        from = format!("({last}");
        for (_, fields) in &entries {
            let id = fields.get("object_id").cloned().unwrap_or_default();
            *out.entry(format!("{}:{id}", fields["object_kind"]))
                .or_insert(0) += 1;
        }
    }
    out
}

/// Entries in the events stream.
pub async fn stream_len(queue: &Queue) -> u64 {
    queue.depth().await.unwrap().lag
}

pub async fn cursor(queue: &Queue, object: &str) -> Option<Cursor> {
    queue
        .load_cursor(object)
        .await
        .unwrap()
        .as_deref()
        .and_then(Cursor::parse)
}

/// `n` seconds before now.
pub fn ago(secs: i64) -> Timestamp {
    Timestamp::now() - jiff::SignedDuration::from_secs(secs)
}
