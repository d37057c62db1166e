//! Each platform's listing requests and page reading, pure: the first URL of "objects of a
//! kind updated at or after `since`, oldest first", and from a response its items and the
//! next page. The contract of every first URL is *inclusive* of `since`, whatever the
//! platform's own filter is, so a cursor never skips records that share its timestamp.
//!
//! WooCommerce and Magento page by offset, and an object updated mid-listing moves to the
//! end, shifting every later one back a place: the next offset would skip one. So after a
//! full page whose newest `updated_at` is past `since`, the listing *seeks* (starts again
//! from that time, inclusive) instead of taking the next offset; only a page made entirely
//! of ties at `since` moves by offset. Shopify's `page_info` cursors need none of this.

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::RestError;
use super::link::link_by_rel;
use super::times::{magento_time, shopify_min, woo_modified_after};
use crate::connectors::store::map_record;
use crate::model::{ObjectKind, StorePlatform};

/// Where to list from, per platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub platform: StorePlatform,
    /// The store's base URL, e.g. `https://acme.myshopify.com`.
    pub base: Url,
    /// Shopify Admin API version, e.g. `2025-07`.
    pub api_version: String,
    /// WooCommerce REST path, e.g. `/wp-json/wc/v3`.
    pub api_path: String,
    /// Magento store view code.
    pub store_code: String,
    /// Items per page, capped at the platform's maximum.
    pub page_size: u32,
}

/// Where the next page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Follow this URL (Shopify's `Link: rel="next"`).
    Url(Url),
    /// Same `since`, this page number.
    Page(u32),
    /// Start again, inclusive, from this time.
    Seek(Timestamp),
    Done,
}

/// The newest `updated_at` among `items` (unmappable items are left out).
fn newest_time(platform: StorePlatform, kind: ObjectKind, items: &[Value]) -> Option<Timestamp> {
    items
        .iter()
        .filter_map(|item| map_record(platform, kind, item).ok())
        .map(|r| r.updated_at())
        .max()
}

fn resource(platform: StorePlatform, kind: ObjectKind) -> &'static str {
    match (platform, kind) {
        (StorePlatform::Shopify, ObjectKind::Carts) => "checkouts",
        (StorePlatform::Magento, ObjectKind::Customers) => "customers/search",
        (_, ObjectKind::Orders | ObjectKind::Carts) => "orders",
        (_, ObjectKind::Customers) => "customers",
        (_, ObjectKind::Products) => "products",
    }
}

/// The platform's page-size ceiling.
pub fn max_page_size(platform: StorePlatform) -> u32 {
    match platform {
        StorePlatform::Shopify => 250,
        StorePlatform::WooCommerce => 100,
        StorePlatform::Magento => 300,
    }
}

impl Endpoint {
    fn page_size(&self) -> u32 {
        self.page_size.clamp(1, max_page_size(self.platform))
    }

    fn url(&self, path: &str) -> Result<Url, RestError> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}")).map_err(|_| RestError::InvalidUrl)
    }

    /// Page `page` (1-based) of a Magento search.
    pub fn magento_page(
        &self,
        kind: ObjectKind,
        since: Timestamp,
        page: u32,
    ) -> Result<Url, RestError> {
        let mut url = self.url(&format!(
            "/rest/{}/V1/{}",
            self.store_code,
            resource(self.platform, kind)
        ))?;
        let f = "searchCriteria[filter_groups][0][filters][0]";
        url.query_pairs_mut()
            .append_pair(&format!("{f}[field]"), "updated_at")
            .append_pair(&format!("{f}[value]"), &magento_time(since))
            .append_pair(&format!("{f}[condition_type]"), "gteq")
            .append_pair("searchCriteria[sortOrders][0][field]", "updated_at")
            .append_pair("searchCriteria[sortOrders][0][direction]", "ASC")
            .append_pair("searchCriteria[pageSize]", &self.page_size().to_string())
            .append_pair("searchCriteria[currentPage]", &page.to_string());
        Ok(url)
    }

    /// The first page of objects of `kind` updated at or after `since`, oldest first.
    pub fn first_page(&self, kind: ObjectKind, since: Timestamp) -> Result<Url, RestError> {
        let size = self.page_size().to_string();
        let res = resource(self.platform, kind);
        match self.platform {
            StorePlatform::Shopify => {
                let mut url = self.url(&format!("/admin/api/{}/{res}.json", self.api_version))?;
                let mut q = url.query_pairs_mut();
                if kind == ObjectKind::Orders {
                    // Orders default to status=open; closed and cancelled ones change too.
                    q.append_pair("status", "any");
                }
                q.append_pair("updated_at_min", &shopify_min(since))
                    .append_pair("order", "updated_at asc")
                    .append_pair("limit", &size);
                drop(q);
                Ok(url)
            }
            StorePlatform::WooCommerce | StorePlatform::Magento => self.page_url(kind, since, 1),
        }
    }

    /// Page `page` (1-based) of an offset-paginated listing (WooCommerce, Magento).
    pub fn page_url(
        &self,
        kind: ObjectKind,
        since: Timestamp,
        page: u32,
    ) -> Result<Url, RestError> {
        if self.platform == StorePlatform::Magento {
            return self.magento_page(kind, since, page);
        }
        let path = self.api_path.trim_end_matches('/');
        let mut url = self.url(&format!("{path}/{}", resource(self.platform, kind)))?;
        url.query_pairs_mut()
            .append_pair("modified_after", &woo_modified_after(since))
            .append_pair("dates_are_gmt", "true")
            .append_pair("orderby", "modified")
            .append_pair("order", "asc")
            .append_pair("per_page", &self.page_size().to_string())
            .append_pair("page", &page.to_string());
        Ok(url)
    }

    /// After a full offset page: seek past `since` if the page reached beyond it, else
    /// take the next offset (a page of nothing but ties).
    fn seek_or_page(&self, kind: ObjectKind, since: Timestamp, page: u32, items: &[Value]) -> Next {
        match newest_time(self.platform, kind, items) {
            Some(newest) if newest > since => Next::Seek(newest),
            _ => Next::Page(page + 1),
        }
    }

    /// The items of a response and where the next page is. `url` is the request's URL
    /// (relative links resolve against it); `page` its Magento page number.
    pub fn read_page(
        &self,
        kind: ObjectKind,
        since: Timestamp,
        url: &Url,
        page: u32,
        headers: &HeaderMap,
        body: Value,
    ) -> Result<(Vec<Value>, Next), &'static str> {
        match self.platform {
            StorePlatform::Shopify => {
                let key = resource(self.platform, kind);
                let items = take_array(body, Some(key)).ok_or("no item array in the response")?;
                let next = headers
                    .get("link")
                    .and_then(|h| h.to_str().ok())
                    .and_then(|h| link_by_rel(h, "next", url))
                    .map_or(Next::Done, Next::Url);
                Ok((items, next))
            }
            StorePlatform::WooCommerce => {
                let items = take_array(body, None).ok_or("the response is not an array")?;
                let pages = headers
                    .get("x-wp-totalpages")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u32>().ok());
                // An empty page, or the last by X-WP-TotalPages (a short page without it).
                let last = match pages {
                    Some(pages) => page >= pages,
                    None => (items.len() as u32) < self.page_size(),
                };
                let next = if items.is_empty() || last {
                    Next::Done
                } else {
                    self.seek_or_page(kind, since, page, &items)
                };
                Ok((items, next))
            }
            StorePlatform::Magento => {
                let total = body
                    .get("total_count")
                    .and_then(Value::as_u64)
                    .ok_or("no total_count")?;
                let items = take_array(body, Some("items")).ok_or("no items array")?;
                // A page past the end repeats the last page: stop by count, never by emptiness.
                let next = if magento_done(page, self.page_size(), total) {
                    Next::Done
                } else {
                    self.seek_or_page(kind, since, page, &items)
                };
                Ok((items, next))
            }
        }
    }
}

fn take_array(body: Value, key: Option<&str>) -> Option<Vec<Value>> {
    let value = match key {
        Some(key) => match body {
            Value::Object(mut map) => map.remove(key)?,
            _ => return None,
        },
        None => body,
    };
    match value {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// Whether page `page` of `size` reached `total` matches.
pub fn magento_done(page: u32, size: u32, total: u64) -> bool {
    u64::from(page) * u64::from(size) >= total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(platform: StorePlatform) -> Endpoint {
        Endpoint {
            platform,
            base: Url::parse("https://shop.example/").unwrap(),
            api_version: "2025-07".into(),
            api_path: "/wp-json/wc/v3".into(),
            store_code: "default".into(),
            page_size: 1000,
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn first_pages_are_inclusive_of_since_and_capped() {
        let since = t("2026-11-20T15:00:00.400Z");
        let shopify = endpoint(StorePlatform::Shopify)
            .first_page(ObjectKind::Orders, since)
            .unwrap();
        assert_eq!(
            shopify.as_str(),
            "https://shop.example/admin/api/2025-07/orders.json?status=any&updated_at_min=2026-11-20T15%3A00%3A00%2B00%3A00&order=updated_at+asc&limit=250"
        );
        let woo = endpoint(StorePlatform::WooCommerce)
            .first_page(ObjectKind::Customers, since)
            .unwrap();
        assert!(
            woo.as_str()
                .contains("/wp-json/wc/v3/customers?modified_after=2026-11-20T14%3A59%3A59&")
        );
        assert!(woo.as_str().ends_with("per_page=100&page=1"));
        let magento = endpoint(StorePlatform::Magento)
            .first_page(ObjectKind::Customers, since)
            .unwrap();
        assert!(
            magento
                .path()
                .ends_with("/rest/default/V1/customers/search")
        );
        assert!(magento.query().unwrap().contains("pageSize%5D=300"));
    }

    #[test]
    fn magento_stops_by_count_not_by_emptiness() {
        assert!(!magento_done(1, 100, 250));
        assert!(magento_done(3, 100, 250));
        assert!(magento_done(1, 100, 0));
        let e = endpoint(StorePlatform::Magento);
        let since = t("2026-11-20T15:00:00Z");
        let url = e.first_page(ObjectKind::Orders, since).unwrap();
        let body = serde_json::json!({"items": [{"entity_id": 1}], "total_count": 301});
        let (items, next) = e
            .read_page(ObjectKind::Orders, since, &url, 1, &HeaderMap::new(), body)
            .unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(next, Next::Page(2), "no mappable item: next offset");
        let item = serde_json::json!({"entity_id": 1, "grand_total": 1, "order_currency_code": "USD",
            "created_at": "2026-11-20 15:00:00", "updated_at": "2026-11-20 15:00:07"});
        let body = serde_json::json!({"items": [item.clone()], "total_count": 301});
        let (_, next) = e
            .read_page(ObjectKind::Orders, since, &url, 1, &HeaderMap::new(), body)
            .unwrap();
        assert_eq!(
            next,
            Next::Seek(t("2026-11-20T15:00:07Z")),
            "past since: seek"
        );
        let body = serde_json::json!({"items": [item], "total_count": 1000});
        let (_, next) = e
            .read_page(
                ObjectKind::Orders,
                t("2026-11-20T15:00:07Z"),
                &url,
                2,
                &HeaderMap::new(),
                body,
            )
            .unwrap();
        assert_eq!(next, Next::Page(3), "all ties at since: next offset");
    }

    #[test]
    fn shopify_follows_the_next_link_and_woo_ends_on_an_empty_page() {
        let e = endpoint(StorePlatform::Shopify);
        let since = t("2026-11-20T15:00:00Z");
        let url = e.first_page(ObjectKind::Carts, since).unwrap();
        assert!(url.path().ends_with("/checkouts.json"));
        let mut headers = HeaderMap::new();
        headers.insert("link", "<https://shop.example/admin/api/2025-07/checkouts.json?limit=250&page_info=x>; rel=\"next\"".parse().unwrap());
        let (items, next) = e
            .read_page(
                ObjectKind::Carts,
                since,
                &url,
                1,
                &headers,
                serde_json::json!({"checkouts": []}),
            )
            .unwrap();
        assert!(items.is_empty());
        assert!(matches!(next, Next::Url(u) if u.query() == Some("limit=250&page_info=x")));
        let woo = endpoint(StorePlatform::WooCommerce);
        let (_, next) = woo
            .read_page(
                ObjectKind::Orders,
                since,
                &url,
                1,
                &headers,
                serde_json::json!([]),
            )
            .unwrap();
        assert_eq!(next, Next::Done);
        assert!(
            e.read_page(
                ObjectKind::Carts,
                since,
                &url,
                1,
                &headers,
                serde_json::json!({})
            )
            .is_err()
        );
        assert!(!StorePlatform::WooCommerce.supports(ObjectKind::Carts));
    }
}
