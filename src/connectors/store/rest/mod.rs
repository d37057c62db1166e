//! Store REST clients: "every object of a kind updated at or after a time, oldest first",
//! page by page to the end, for Shopify, WooCommerce and Magento. Rate limits are obeyed,
//! never fought: a 429 waits its `Retry-After` (one request at a time, so a throttled store
//! sees no error storm), and Shopify's call-limit header slows requests before the bucket
//! overflows.

pub mod link;
pub mod oauth;
mod pager;
pub mod requests;
pub mod times;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::model::{ObjectKind, StorePlatform};
pub use pager::Pager;
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
        let first = self.endpoint.first_page(kind, since)?;
        Ok(Pager::new(self.clone(), kind, since, first))
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

    #[test]
    fn call_limit_slows_down_only_near_the_top() {
        assert_eq!(call_limit_pause(Some("32/40")), Duration::ZERO);
        assert_eq!(call_limit_pause(Some("39/40")), Duration::from_millis(500));
        assert_eq!(call_limit_pause(Some("400/400")), Duration::from_millis(50));
        assert_eq!(call_limit_pause(Some("junk")), Duration::ZERO);
        assert_eq!(call_limit_pause(None), Duration::ZERO);
    }
}
