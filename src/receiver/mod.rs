//! `syncline receiver`: the axum server for one pipeline's webhooks. It only verifies,
//! dedupes and enqueues (guarantees 1, 2 and 7 of docs/design.md); everything slow happens in
//! the workers, so a store's delivery is answered within milliseconds.

mod body;
mod delivery;
mod error;
mod handlers;
pub mod metrics;
mod route;
mod server;
pub mod signature;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::HeaderName;
use tokio::sync::Semaphore;

use crate::api::{MagentoWebhookScheme, SignatureEncoding, StorePlatform};
use crate::config::{PipelineConfig, Role, SecretKey};
use crate::queue::{Queue, QueueError, QueueKeys, QueueSettings};

pub use error::{RETRY_AFTER_SECS, Rejection};
pub use metrics::ReceiverMetrics;
pub use server::{ConnectionLimits, router, run, serve};
use signature::{AdobePublicKey, Encoding, HmacKeys};

/// Tunables of a receiver; the CLI flags map onto these.
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    pub listen: SocketAddr,
    /// Largest accepted body; Shopify payloads with many line items reach a few hundred KiB.
    pub max_body_bytes: usize,
    /// Most bytes of a too-large body read and discarded after its 413 (within
    /// `request_timeout`), so a client that writes its whole body first reads the answer
    /// instead of a connection reset.
    pub max_drain_bytes: usize,
    /// How long a delivery id is remembered for dedupe.
    pub dedupe_ttl: Duration,
    /// Longest wait for Redis before answering 503.
    pub redis_deadline: Duration,
    /// Longest time for a whole request (body read included); Shopify gives up after 5 s.
    pub request_timeout: Duration,
    /// Deliveries processed at once; beyond it the answer is 503 + Retry-After at once,
    /// rather than an unbounded queue of waiting requests.
    pub max_concurrency: usize,
    /// How long in-flight requests may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// Standard Webhooks timestamp tolerance, both directions.
    pub timestamp_tolerance: Duration,
    /// Open-connection cap and header read timeout.
    pub connections: ConnectionLimits,
}

impl Default for ReceiverSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_body_bytes: 5 * 1024 * 1024,
            max_drain_bytes: 64 * 1024 * 1024,
            dedupe_ttl: Duration::from_secs(24 * 3600),
            redis_deadline: Duration::from_secs(2),
            request_timeout: Duration::from_secs(4),
            max_concurrency: 1024,
            shutdown_grace: Duration::from_secs(25),
            timestamp_tolerance: Duration::from_secs(300),
            connections: ConnectionLimits::default(),
        }
    }
}

/// Why a receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error(
        "the pipeline has no {key} (Secret key {key} or {env})",
        key = SecretKey::WebhookSecret,
        env = SecretKey::WebhookSecret.env_var()
    )]
    MissingWebhookSecret,
    #[error("spec.store.magento.webhooks is required for a magento pipeline")]
    MissingMagentoOptions,
    #[error("spec.store.magento.webhooks.publicKey is required with scheme adobe")]
    MissingPublicKey,
    #[error(transparent)]
    InvalidPublicKey(#[from] signature::InvalidPublicKey),
    #[error(transparent)]
    InvalidHeaderName(#[from] axum::http::header::InvalidHeaderName),
    #[error("cannot set up the queue: {0}")]
    Queue(#[from] QueueError),
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// The HMAC keys for body signatures. WooCommerce keys its HMAC with the secret after
/// `wp_specialchars_decode(…, ENT_QUOTES)`, so a secret containing HTML entities (as the
/// admin may show it) is also tried in decoded form.
fn body_hmac_secrets(platform: StorePlatform, secrets: &[String]) -> Vec<String> {
    let mut keys = secrets.to_vec();
    if platform == StorePlatform::WooCommerce {
        for secret in secrets {
            let decoded = wp_specialchars_decode(secret);
            if &decoded != secret {
                keys.push(decoded);
            }
        }
    }
    keys
}

/// PHP's `wp_specialchars_decode($s, ENT_QUOTES)`: the five entities WordPress encodes.
fn wp_specialchars_decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// How the magento route is verified.
#[derive(Debug, Clone)]
enum MagentoScheme {
    Standard,
    Hmac {
        header: HeaderName,
        encoding: Encoding,
    },
    Adobe(AdobePublicKey),
}

/// Everything a request needs, shared by all handlers of one receiver.
#[derive(Debug)]
pub struct ReceiverState {
    pipeline: String,
    platform: StorePlatform,
    shop_domain: Option<String>,
    body_keys: HmacKeys,
    standard_keys: HmacKeys,
    magento: Option<MagentoScheme>,
    /// `spec.store.magento.webhooks.topicHeader`, lower-cased.
    topic_header: Option<HeaderName>,
    queue: Queue,
    metrics: ReceiverMetrics,
    permits: Semaphore,
    settings: ReceiverSettings,
    span: tracing::Span,
    /// Unix second of the last enqueue-failure warning, so an outage at thousands of
    /// requests per second logs once a second instead of flooding.
    last_failure_log: AtomicU64,
}

impl ReceiverState {
    /// Builds the state from a loaded pipeline. Does not contact Redis (a receiver may
    /// start before Redis is up); must run inside a Tokio runtime.
    pub fn new(
        config: &PipelineConfig,
        settings: ReceiverSettings,
    ) -> Result<Arc<Self>, ReceiverError> {
        let spec = &config.pipeline.spec;
        let platform = spec.store.platform;
        let secrets = config.secrets.webhook_secrets();
        let magento = match platform {
            StorePlatform::Magento => {
                let hooks = spec
                    .store
                    .magento
                    .as_ref()
                    .ok_or(ReceiverError::MissingMagentoOptions)?
                    .webhooks
                    .clone();
                Some(match hooks.scheme {
                    MagentoWebhookScheme::Standard => MagentoScheme::Standard,
                    MagentoWebhookScheme::Hmac => MagentoScheme::Hmac {
                        header: HeaderName::try_from(hooks.signature_header.to_ascii_lowercase())?,
                        encoding: match hooks.signature_encoding {
                            SignatureEncoding::Hex => Encoding::Hex,
                            SignatureEncoding::Base64 => Encoding::Base64,
                        },
                    },
                    MagentoWebhookScheme::Adobe => {
                        let pem = hooks
                            .public_key
                            .as_deref()
                            .ok_or(ReceiverError::MissingPublicKey)?;
                        MagentoScheme::Adobe(AdobePublicKey::from_pem(pem)?)
                    }
                })
            }
            _ => None,
        };
        let topic_header = spec
            .store
            .magento
            .as_ref()
            .and_then(|m| m.webhooks.topic_header.as_deref())
            .map(|h| HeaderName::try_from(h.to_ascii_lowercase()))
            .transpose()?;
        if SecretKey::WebhookSecret.required_by(Role::Receiver, spec) && secrets.is_empty() {
            return Err(ReceiverError::MissingWebhookSecret);
        }
        let namespace = config
            .pipeline
            .metadata
            .namespace
            .as_deref()
            .unwrap_or("default");
        let name = config.pipeline.metadata.name.as_deref().unwrap_or_default();
        let queue = Queue::new(
            &config.redis_url(),
            QueueKeys::new(namespace, name),
            QueueSettings {
                dedupe_ttl: settings.dedupe_ttl,
                ..config.queue_settings(settings.redis_deadline)
            },
        )?;
        let pipeline = config.qualified_name();
        Ok(Arc::new(Self {
            span: tracing::info_span!("receiver", pipeline = %pipeline),
            pipeline,
            platform,
            shop_domain: spec.store.shopify.as_ref().map(|s| s.shop_domain.clone()),
            body_keys: HmacKeys::from_secrets(&body_hmac_secrets(platform, &secrets)),
            standard_keys: HmacKeys::from_standard_secrets(&secrets),
            magento,
            topic_header,
            queue,
            metrics: ReceiverMetrics::new()?,
            last_failure_log: AtomicU64::new(0),
            permits: Semaphore::new(settings.max_concurrency.max(1)),
            settings,
        }))
    }

    /// The pipeline's `namespace/name`.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// The queue, e.g. for a caller that wants to ensure the consumer group exists.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// True at most once per second: whether this failure should be logged.
    fn should_log_failure(&self) -> bool {
        let now = jiff::Timestamp::now().as_second().max(0).unsigned_abs();
        let last = self.last_failure_log.load(Ordering::Relaxed);
        now > last
            && self
                .last_failure_log
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The metrics registry of this receiver.
    pub fn metrics(&self) -> &ReceiverMetrics {
        &self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn woocommerce_secrets_are_also_tried_entity_decoded() {
        let secrets = vec!["a&amp;b&#039;c".to_owned(), "plain".to_owned()];
        assert_eq!(
            body_hmac_secrets(StorePlatform::WooCommerce, &secrets),
            vec!["a&amp;b&#039;c", "plain", "a&b'c"]
        );
        assert_eq!(body_hmac_secrets(StorePlatform::Shopify, &secrets), secrets);
        assert_eq!(wp_specialchars_decode("&amp;lt;"), "&lt;");
    }
}
