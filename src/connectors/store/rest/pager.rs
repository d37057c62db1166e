//! One listing, page by page: follows the platform's next-page rule (link header, page
//! number, or a seek to a later time) and returns each version once, however the pages
//! overlap.

use std::collections::HashSet;

use jiff::Timestamp;
use reqwest::Url;
use serde_json::Value;

use super::super::map_record;
use super::{Next, RestError, StoreClient};
use crate::model::{ObjectKind, StorePlatform};

/// A listing in progress; `next_page` until it answers `None`.
#[derive(Debug)]
pub struct Pager {
    client: StoreClient,
    kind: ObjectKind,
    since: Timestamp,
    next: Option<Url>,
    /// The page number of `next` (offset-paginated platforms).
    page: u32,
    /// What this listing returned already, so a seek (or a page overlap) does not return it
    /// twice.
    returned: Returned,
}

fn position(platform: StorePlatform, kind: ObjectKind, item: &Value) -> Option<(String, i64)> {
    let record = map_record(platform, kind, item).ok()?;
    Some((
        record.id().to_string(),
        record.updated_at().as_millisecond(),
    ))
}

/// The versions `(id, updated_at ms)` a listing returned that it may meet again.
///
/// Identity, not position: a store lists by its own `updated_at`, which may be finer than
/// the second it shows, so two objects of one shown second can come in either id order
/// (and a real store orders ties however its database does). Dropping everything "at or
/// before the newest `(updated_at, id)` returned" would then skip the object of the
/// smaller id that comes later; remembering what was returned cannot skip anything.
/// A listing never goes back more than a second before the newest time it returned (a
/// seek starts at that time, and WooCommerce's exclusive filter one second before), so
/// older versions are forgotten.
#[derive(Debug, Default)]
struct Returned {
    seen: HashSet<(String, i64)>,
    newest_ms: Option<i64>,
}

impl Returned {
    /// Keeps the items not returned before (and every unmappable one), and remembers them.
    fn fresh(&mut self, platform: StorePlatform, kind: ObjectKind, items: &mut Vec<Value>) {
        items.retain(|item| match position(platform, kind, item) {
            None => true,
            Some(p) => {
                self.newest_ms = self.newest_ms.max(Some(p.1));
                self.seen.insert(p)
            }
        });
        if let Some(newest) = self.newest_ms {
            let horizon = newest.saturating_sub(1000);
            self.seen.retain(|(_, at)| *at >= horizon);
        }
    }
}

impl Pager {
    pub(super) fn new(client: StoreClient, kind: ObjectKind, since: Timestamp, first: Url) -> Self {
        Self {
            client,
            kind,
            since,
            next: Some(first),
            page: 1,
            returned: Returned::default(),
        }
    }

    /// The next page's items, or `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, RestError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let (headers, body) = self.client.get(&url).await?;
        let endpoint = &self.client.endpoint;
        let (mut items, next) = endpoint
            .read_page(self.kind, self.since, &url, self.page, &headers, body)
            .map_err(RestError::Body)?;
        self.returned
            .fresh(endpoint.platform, self.kind, &mut items);
        (self.next, self.page) = match next {
            Next::Url(url) => (Some(url), self.page + 1),
            Next::Page(page) => (Some(endpoint.page_url(self.kind, self.since, page)?), page),
            Next::Seek(since) => {
                self.since = since;
                (Some(endpoint.page_url(self.kind, since, 1)?), 1)
            }
            Next::Done => (None, self.page),
        };
        Ok(Some(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: u64, at: &str) -> Value {
        serde_json::json!({"id": id, "date_modified_gmt": at})
    }

    fn ids(items: &[Value]) -> Vec<u64> {
        items.iter().filter_map(|i| i["id"].as_u64()).collect()
    }

    #[test]
    fn a_listing_drops_only_what_it_returned_whatever_the_tie_order() {
        let (woo, kind) = (StorePlatform::WooCommerce, ObjectKind::Customers);
        let mut returned = Returned::default();
        // One shown second, ids out of order across a page boundary (the store orders by
        // a finer time than it shows): the later, smaller id is still new.
        let mut page = vec![
            customer(7, "2026-11-20T15:00:00"),
            customer(3, "2026-11-20T15:00:00"),
        ];
        returned.fresh(woo, kind, &mut page);
        assert_eq!(ids(&page), [7, 3]);
        let mut page = vec![
            customer(9, "2026-11-20T15:00:00"),
            customer(2, "2026-11-20T15:00:00"),
        ];
        returned.fresh(woo, kind, &mut page);
        assert_eq!(ids(&page), [9, 2]);
        // A seek re-reads the second: only what is new comes back, and a new version of a
        // returned object (a later updated_at) is new; an unmappable item always passes.
        let mut page = vec![
            customer(3, "2026-11-20T15:00:00"),
            customer(5, "2026-11-20T15:00:00"),
            customer(7, "2026-11-20T15:00:03"),
            serde_json::json!({"id": 1}),
        ];
        returned.fresh(woo, kind, &mut page);
        assert_eq!(ids(&page), [5, 7, 1]);
        // Versions more than a second older than the newest returned are forgotten.
        assert!(
            returned
                .seen
                .iter()
                .all(|(_, at)| *at >= returned.newest_ms.unwrap() - 1000)
        );
        assert_eq!(returned.seen.len(), 1);
    }
}
