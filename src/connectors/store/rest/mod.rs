//! Store REST clients: "every object of a kind updated at or after a time, oldest first",
//! page by page to the end, for Shopify, WooCommerce and Magento. Rate limits are obeyed,
//! never fought: a 429 waits its `Retry-After` (one request at a time, so a throttled store
//! sees no error storm), and Shopify's call-limit header slows requests before the bucket
//! overflows.

pub mod link;
pub mod oauth;
pub mod requests;
pub mod times;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::map_record;
use crate::model::{ObjectKind, StorePlatform};
pub use requests::{Endpoint, Next};

/// How a store client authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// Shopify `X-Shopify-Access-Token`.
    ShopifyToken(String),
    /// WooCommerce consumer key and secret: HTTP Basic over `https://` (as WooCommerce
    /// documents it), an OAuth 1.0a one-legged signature over `http://`, where the secret
    /// must not cross the wire.
    ConsumerKey { key: String, secret: String },
    /// Magento integration token, `Authorization: Bearer`.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(redacted)")
    }
}

/// Why a listing failed. Variants are stable: `kind()` labels metrics.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("the store URL does not form a valid request URL")]
    InvalidUrl,
    #[error("{0:?} has no REST listing of {1:?}")]
    Unsupported(StorePlatform, ObjectKind),
    #[error("the store refused the credentials (HTTP {0})")]
    Unauthorized(u16),
    #[error("the store kept answering 429 after {0} waits")]
    RateLimited(u32),
    #[error("the store answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("request to the store failed: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("unexpected response body: {0}")]
    Body(&'static str),
}

impl RestError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "invalid_url",
            Self::Unsupported(..) => "unsupported",
            Self::Unauthorized(_) => "unauthorized",
            Self::RateLimited(_) => "rate_limited",
            Self::Status { .. } => "status",
            Self::Transport(_) => "transport",
            Self::Body(_) => "body",
        }
    }
}

/// Tunables of a store client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub timeout: Duration,
    /// 429s in a row waited out before a listing gives up (it resumes next cycle).
    pub max_throttled: u32,
    /// Transport errors and 5xx in a row retried before giving up.
    pub max_transient: u32,
    /// The wait after a 429 without a usable `Retry-After` (Shopify documents 2.0).
    pub default_retry_after: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_throttled: 20,
            max_transient: 3,
            default_retry_after: Duration::from_secs(2),
        }
    }
}

/// Requests made and 429s waited out, for tests and metrics.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
}

/// A store's REST client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreClient {
    http: reqwest::Client,
    endpoint: Arc<Endpoint>,
    credentials: Credentials,
    settings: ClientSettings,
    pub stats: Arc<ClientStats>,
}

/// `Retry-After` in seconds (Shopify sends `2.0`); HTTP dates are not used by the stores.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// From `X-Shopify-Shop-Api-Call-Limit: 39/40`, how long to wait before the next request
/// so it does not overflow the bucket: one drain interval when one slot or less is left.
/// Buckets drain at a twentieth of their size per second (40 → 2/s, 400 → 20/s).
pub fn call_limit_pause(value: Option<&str>) -> Duration {
    let Some((used, max)) = value.and_then(|v| v.trim().split_once('/')) else {
        return Duration::ZERO;
    };
    match (used.trim().parse::<u32>(), max.trim().parse::<u32>()) {
        (Ok(used), Ok(max)) if max > 0 && used + 1 >= max => {
            Duration::from_secs_f64(20.0 / f64::from(max))
        }
        _ => Duration::ZERO,
    }
}

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

impl StoreClient {
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        settings: ClientSettings,
    ) -> Result<Self, RestError> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(settings.timeout)
            .build()
            .map_err(RestError::Transport)?;
        Ok(Self {
            http,
            endpoint: Arc::new(endpoint),
            credentials,
            settings,
            stats: Arc::new(ClientStats::default()),
        })
    }

    pub fn platform(&self) -> StorePlatform {
        self.endpoint.platform
    }

    /// Objects of `kind` updated at or after `since`, oldest first, page by page.
    pub fn list_since(&self, kind: ObjectKind, since: Timestamp) -> Result<Pager, RestError> {
        if !self.endpoint.platform.supports(kind) {
            return Err(RestError::Unsupported(self.endpoint.platform, kind));
        }
        Ok(Pager {
            client: self.clone(),
            kind,
            since,
            next: Some(self.endpoint.first_page(kind, since)?),
            page: 1,
            returned: Returned::default(),
        })
    }

    /// One authenticated GET of `url`; built anew for every attempt, so each OAuth
    /// signature has its own timestamp and nonce.
    fn request(&self, url: &Url) -> reqwest::RequestBuilder {
        let get = |url: Url| self.http.get(url).header("accept", "application/json");
        match &self.credentials {
            Credentials::ShopifyToken(t) => get(url.clone()).header("x-shopify-access-token", t),
            Credentials::ConsumerKey { key, secret } if url.scheme() == "https" => {
                get(url.clone()).basic_auth(key, Some(secret))
            }
            Credentials::ConsumerKey { key, secret } => {
                let nonce = oauth::nonce();
                let signing = oauth::Signing {
                    consumer_key: key,
                    consumer_secret: secret,
                    method: oauth::SignatureMethod::HmacSha256,
                    timestamp: Timestamp::now().as_second(),
                    nonce: &nonce,
                };
                get(oauth::sign_url("GET", url, signing))
            }
            Credentials::Bearer(t) => get(url.clone()).bearer_auth(t),
        }
    }

    /// One GET, waiting out 429s and retrying transient failures with backoff.
    async fn get(&self, url: &Url) -> Result<(HeaderMap, Value), RestError> {
        let (mut throttled, mut transient) = (0u32, 0u32);
        loop {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = match self.request(url).send().await {
                Ok(r) => r,
                Err(e) if transient < self.settings.max_transient => {
                    transient += 1;
                    tracing::debug!(error = %e, "store request failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << transient)).await;
                    continue;
                }
                Err(e) => return Err(RestError::Transport(e)),
            };
            let status = response.status();
            let headers = response.headers().clone();
            if status == StatusCode::TOO_MANY_REQUESTS {
                throttled += 1;
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                if throttled > self.settings.max_throttled {
                    return Err(RestError::RateLimited(throttled - 1));
                }
                let value = headers.get("retry-after").and_then(|v| v.to_str().ok());
                let wait = retry_after(value).unwrap_or(self.settings.default_retry_after);
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "store rate limit: waiting Retry-After"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                return Err(RestError::Unauthorized(status.as_u16()));
            }
            if status.is_server_error() && transient < self.settings.max_transient {
                transient += 1;
                tokio::time::sleep(Duration::from_millis(250 << transient)).await;
                continue;
            }
            if !status.is_success() {
                let mut body = response.text().await.unwrap_or_default();
                body.truncate(300);
                return Err(RestError::Status {
                    status: status.as_u16(),
                    body,
                });
            }
            let body: Value = response.json().await.map_err(RestError::Transport)?;
            let limit = headers
                .get("x-shopify-shop-api-call-limit")
                .and_then(|v| v.to_str().ok());
            let pause = call_limit_pause(limit);
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            return Ok((headers, body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_decimal_seconds() {
        assert_eq!(retry_after(Some("2.0")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(Some(" 1.5 ")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(Some("-1")), None);
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }

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

    #[test]
    fn call_limit_slows_down_only_near_the_top() {
        assert_eq!(call_limit_pause(Some("32/40")), Duration::ZERO);
        assert_eq!(call_limit_pause(Some("39/40")), Duration::from_millis(500));
        assert_eq!(call_limit_pause(Some("400/400")), Duration::from_millis(50));
        assert_eq!(call_limit_pause(Some("junk")), Duration::ZERO);
        assert_eq!(call_limit_pause(None), Duration::ZERO);
    }
}
