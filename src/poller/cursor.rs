//! Cursor math, pure: a cursor is the `(updated_at, id)` of the newest object a poll has
//! enqueued. Listings start at `updated_at - lookback`, inclusive, so ties at the cursor's
//! time are read again rather than skipped; the dedupe key makes the re-read free.

use std::cmp::Ordering;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::connectors::store::{compare_ids, map_record};
use crate::model::{ObjectKind, StorePlatform};
use crate::queue::{EventEnvelope, Scheme};

/// The position of one object in `(updated_at, id)` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: Timestamp,
    /// The store's id as text; empty sorts before every id (a cursor set to a time only).
    pub id: String,
}

impl Ord for Cursor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| compare_ids(&self.id, &other.id))
    }
}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Cursor {
    /// A cursor at a time, before every object of that time.
    pub fn at(at: Timestamp) -> Self {
        Self {
            at,
            id: String::new(),
        }
    }

    /// `2026-11-20T15:00:00Z|820982911946154508`.
    pub fn to_text(&self) -> String {
        format!("{}|{}", self.at, self.id)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('|')?;
        Some(Self {
            at: at.parse().ok()?,
            id: id.to_string(),
        })
    }

    /// Where the next listing starts: `lookback` before the cursor.
    pub fn since(&self, lookback: Duration) -> Timestamp {
        let back = SignedDuration::try_from(lookback).unwrap_or(SignedDuration::MAX);
        self.at.checked_sub(back).unwrap_or(Timestamp::MIN)
    }
}

/// The newer of an optional cursor and a candidate.
pub fn newest(current: Option<Cursor>, seen: Cursor) -> Cursor {
    match current {
        Some(c) if c >= seen => c,
        _ => seen,
    }
}

/// The cursor position of a listed item, from its canonical record; `None` when the item
/// does not map (the worker will dead-letter it with the reason).
pub fn item_cursor(platform: StorePlatform, kind: ObjectKind, item: &Value) -> Option<Cursor> {
    let record = map_record(platform, kind, item).ok()?;
    Some(Cursor {
        at: record.updated_at(),
        id: record.id().to_string(),
    })
}

/// The envelope of one polled object. Its delivery id names the object and version, so
/// polling the same version again (the lookback overlap, a resumed cycle) is deduped on
/// enqueue; the worker's watermark digest makes a webhook of the same version a no-op.
pub fn envelope(
    platform: StorePlatform,
    kind: ObjectKind,
    item: &Value,
    position: Option<&Cursor>,
    now: Timestamp,
) -> EventEnvelope {
    let body = item.to_string();
    let name = kind.as_str();
    let delivery_id = match position {
        Some(c) => format!("poll:{name}:{}:{}", c.id, c.at.as_millisecond()),
        None => {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(body.as_bytes());
            format!("poll:{name}:unmapped:{}", hex::encode(&digest[..12]))
        }
    };
    EventEnvelope {
        delivery_id,
        platform,
        scheme: Scheme::Poll,
        topic: format!("poll/{name}"),
        object_kind: Some(kind),
        object_id: position.map(|c| c.id.clone()),
        received_at: now.to_string(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(at: &str, id: &str) -> Cursor {
        Cursor {
            at: at.parse().unwrap(),
            id: id.into(),
        }
    }

    #[test]
    fn cursors_order_by_time_then_numeric_id() {
        let t = "2026-11-20T15:00:00Z";
        assert!(c(t, "9") < c(t, "10"));
        assert!(c(t, "") < c(t, "1"));
        assert!(c(t, "820982911946154508") > c(t, "99"));
        assert!(c(t, "99") < c("2026-11-20T15:00:01Z", "1"));
        assert_eq!(newest(Some(c(t, "5")), c(t, "4")), c(t, "5"));
        assert_eq!(newest(None, c(t, "4")), c(t, "4"));
    }

    #[test]
    fn text_round_trips_and_lookback_goes_back() {
        let cursor = c("2026-11-20T15:00:00.123Z", "820982911946154508");
        assert_eq!(Cursor::parse(&cursor.to_text()), Some(cursor.clone()));
        assert_eq!(Cursor::parse("garbage"), None);
        assert_eq!(
            cursor.since(Duration::from_secs(600)).to_string(),
            "2026-11-20T14:50:00.123Z"
        );
        assert_eq!(
            Cursor::at(Timestamp::MIN).since(Duration::from_secs(1)),
            Timestamp::MIN
        );
    }

    #[test]
    fn envelopes_name_the_object_version_and_pass_the_worker_decode() {
        let item = json!({"id": 820982911946154508u64, "email": "a@b.c", "first_name": "A",
            "updated_at": "2026-11-20T10:01:02-05:00"});
        let pos = item_cursor(StorePlatform::Shopify, ObjectKind::Customers, &item).unwrap();
        assert_eq!(pos.to_text(), "2026-11-20T15:01:02Z|820982911946154508");
        let now: Timestamp = "2026-11-20T16:00:00Z".parse().unwrap();
        let e = envelope(
            StorePlatform::Shopify,
            ObjectKind::Customers,
            &item,
            Some(&pos),
            now,
        );
        assert_eq!(
            e.delivery_id,
            "poll:customers:820982911946154508:1795186862000"
        );
        assert_eq!(
            (e.scheme.as_str(), e.topic.as_str()),
            ("poll", "poll/customers")
        );
        assert_eq!(e.object_kind, Some(ObjectKind::Customers));
        assert!(e.body.contains("820982911946154508"));
        let bad = envelope(
            StorePlatform::Shopify,
            ObjectKind::Customers,
            &json!({}),
            None,
            now,
        );
        assert!(bad.delivery_id.starts_with("poll:customers:unmapped:"));
    }
}
