//! Redis: the only module that talks to it. Streams, the dedupe-and-enqueue Lua script and
//! the key layout of docs/design.md ("Redis layout"), where every key of a pipeline shares the
//! hash tag `{ns/name}` so the pipeline's keys live in one Redis Cluster slot and a script
//! may touch several of them.

pub mod admin;
mod backfill;
pub use backfill::{BackfillProgress, ObjectProgress};
mod consume;
mod dead;
mod envelope;
mod load;
pub use load::{LoadSummary, REPORT_EVERY as LOAD_REPORT_EVERY, WorkerLoad, unix_ms};
mod poller;
mod ratelimit;
pub use ratelimit::{RateBudget, StatedLimits};
mod watermark;

pub use consume::{Entry, LANDED_FIELD, QueueDepth};
pub use dead::{DeadLetter, DeadLetterFilter, count_text as dead_letter_count};
pub use watermark::{Claim, ClaimOutcome};

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use envelope::{ENVELOPE_VERSION, EnvelopeError, EventEnvelope, Scheme};

/// The consumer group workers read the events stream with.
pub const CONSUMER_GROUP: &str = "workers";

/// Longest delivery id accepted into a key, so a signed but absurd header cannot bloat Redis.
pub const MAX_DELIVERY_ID_LEN: usize = 256;

/// Key names of one pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueKeys {
    prefix: String,
}

impl QueueKeys {
    /// Keys for the pipeline `namespace/name` (namespace "default" when unset).
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            prefix: format!("sl:{{{namespace}/{name}}}"),
        }
    }

    /// What every key of the pipeline starts with, e.g. `sl:{shops/acme}`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash-tagged namespace, e.g. `{shops/acme}`.
    pub fn tag(&self) -> &str {
        self.prefix.trim_start_matches("sl:")
    }

    /// The pipeline's events stream.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// The dedupe marker of one delivery.
    pub fn seen(&self, delivery_id: &str) -> String {
        format!("{}:seen:{delivery_id}", self.prefix)
    }

    /// The watermark of one object, e.g. `sl:{shops/acme}:wm:orders:42`: the version and
    /// content digest of the newest write that reached the CRM.
    pub fn watermark(&self, object_key: &str) -> String {
        format!("{}:wm:{object_key}", self.prefix)
    }

    /// The short-lived lock a worker holds on one object while writing it, so two workers
    /// never write versions of one object concurrently (the older could land last).
    pub fn object_lock(&self, object_key: &str) -> String {
        format!("{}:lock:{object_key}", self.prefix)
    }

    /// The delayed-retry sorted set (score: due time, Unix ms).
    pub fn retry(&self) -> String {
        format!("{}:retry", self.prefix)
    }

    /// The dead-letter stream.
    pub fn dead(&self) -> String {
        format!("{}:dead", self.prefix)
    }

    /// The poller cursor of one object type, `(updated_at, id)` as text, e.g.
    /// `sl:{shops/acme}:cursor:orders` (the backfill's own: `cursor:backfill:orders`).
    pub fn cursor(&self, object: &str) -> String {
        format!("{}:cursor:{object}", self.prefix)
    }

    /// The poller lease: `<fencing token>:<holder>`, with a TTL.
    pub fn poller(&self) -> String {
        format!("{}:poller", self.prefix)
    }

    /// The counter fencing tokens are drawn from; it only grows.
    pub fn poller_fence(&self) -> String {
        format!("{}:poller:fence", self.prefix)
    }

    /// The backfill's progress hash.
    pub fn backfill(&self) -> String {
        format!("{}:backfill", self.prefix)
    }

    /// When the poller last finished a cycle (RFC 3339), for `status.lastPollTime`.
    pub fn last_poll(&self) -> String {
        format!("{}:poller:last", self.prefix)
    }

    /// Set by workers while the CRM refuses their token (401/403), holding HubSpot's
    /// message; the operator turns it into the `CrmUnauthorized` condition.
    pub fn crm_unauthorized(&self) -> String {
        format!("{}:crm:unauthorized", self.prefix)
    }

    /// The CRM limits the pipeline's workers last saw stated in HubSpot's headers (a
    /// [`StatedLimits`] hash), for the `CrmRateLimitMismatch` condition.
    pub fn crm_limits(&self) -> String {
        format!("{}:crm:limits", self.prefix)
    }

    /// What limits the pipeline's workers: one [`WorkerLoad`] report per worker (field:
    /// its consumer name), for the scaler.
    pub fn load(&self) -> String {
        format!("{}:load", self.prefix)
    }
}

/// The shared token bucket of a CRM account: `sl:{<account>}:ratelimit`. Its own hash tag,
/// since pipelines of one account share it.
pub fn rate_limit_key(account: &str) -> String {
    format!("sl:{{{account}}}:ratelimit")
}

/// Why Redis did not take an event. Low-cardinality on purpose: it labels metrics.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the Redis URL is invalid")]
    InvalidUrl(#[source] redis::RedisError),
    #[error("Redis command failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis answered the enqueue script with an unexpected reply")]
    UnexpectedReply,
}

impl QueueError {
    /// A stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::Redis(_) => "redis_error",
            Self::Timeout(_) => "timeout",
            Self::UnexpectedReply => "unexpected_reply",
        }
    }
}

/// What happened to a delivery offered to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// Stored as a new stream entry.
    Enqueued { entry_id: String },
    /// The delivery id was seen within the dedupe TTL; nothing was written.
    Duplicate,
}

/// Tunables of the queue client.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// How long a dedupe marker lives: longer than the providers' retry windows (Shopify
    /// retries for 4 h; Standard Webhooks suggests up to ~3 days).
    pub dedupe_ttl: Duration,
    /// Longest wait for any Redis answer; past it the caller answers 503 so the provider
    /// retries, instead of holding its connection.
    pub deadline: Duration,
    /// PEM CA that signed a `rediss://` server's certificate, when it is not in the system
    /// roots (the Secret's `redisCaCert`).
    pub tls_ca: Option<String>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            dedupe_ttl: Duration::from_secs(24 * 3600),
            deadline: Duration::from_secs(2),
            tls_ca: None,
        }
    }
}

/// A Redis client for `url`. `rediss://` verifies the server against `tls_ca` when given,
/// else against the system roots (or `SSL_CERT_FILE`).
pub fn redis_client(url: &str, tls_ca: Option<&str>) -> redis::RedisResult<redis::Client> {
    crate::tls::ensure_crypto_provider();
    match tls_ca {
        Some(ca) if url.starts_with("rediss://") => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.as_bytes().to_vec()),
            },
        ),
        _ => redis::Client::open(url),
    }
}

/// A pipeline's queue. Cheap to clone; clones share one multiplexed connection that
/// reconnects by itself after Redis restarts.
#[derive(Clone)]
pub struct Queue {
    keys: QueueKeys,
    /// Kept to open further connections (`own_connection`); holds the URL, never printed.
    client: redis::Client,
    conn: ConnectionManager,
    script: redis::Script,
    settings: QueueSettings,
}

impl std::fmt::Debug for Queue {
    // The connection holds the URL, which may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("keys", &self.keys)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Queue {
    /// Prepares a client without connecting, so a receiver can start (and report not
    /// ready) while Redis is still down. Must be called inside a Tokio runtime.
    pub fn new(url: &str, keys: QueueKeys, settings: QueueSettings) -> Result<Self, QueueError> {
        let client =
            redis_client(url, settings.tls_ca.as_deref()).map_err(QueueError::InvalidUrl)?;
        let conn = Self::connect(&client, &settings)?;
        Ok(Self {
            keys,
            client,
            conn,
            script: redis::Script::new(include_str!("lua/enqueue.lua")),
            settings,
        })
    }

    fn connect(
        client: &redis::Client,
        settings: &QueueSettings,
    ) -> Result<ConnectionManager, QueueError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.deadline))
            .set_response_timeout(Some(settings.deadline))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(QueueError::InvalidUrl)
    }

    /// The same queue on a connection of its own. A blocking read (XREADGROUP BLOCK)
    /// holds up every command queued behind it on a multiplexed connection, so each
    /// consumer that blocks needs one: two worker lanes on one connection would wait up
    /// to the block time for each other's budget tokens and acks.
    pub fn own_connection(&self) -> Result<Self, QueueError> {
        Ok(Self {
            conn: Self::connect(&self.client, &self.settings)?,
            ..self.clone()
        })
    }

    /// The pipeline's keys.
    pub fn keys(&self) -> &QueueKeys {
        &self.keys
    }

    async fn bounded<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, QueueError> {
        match tokio::time::timeout(self.settings.deadline, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(QueueError::Timeout(self.settings.deadline)),
        }
    }

    /// Creates the stream and its consumer group if missing (XGROUP CREATE … MKSTREAM), so
    /// workers can attach before the first event arrives.
    pub async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(self.keys.events())
            .arg(CONSUMER_GROUP)
            .arg("0")
            .arg("MKSTREAM");
        match self.bounded(cmd.query_async::<()>(&mut conn)).await {
            Err(QueueError::Redis(e)) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// Whether Redis answers PING within the deadline.
    pub async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let reply: String = self
            .bounded(redis::cmd("PING").query_async(&mut conn))
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(QueueError::UnexpectedReply)
        }
    }

    /// Dedupe and enqueue in one atomic script: either the marker and the stream entry are
    /// both written, or neither is (a duplicate writes nothing).
    pub async fn enqueue(&self, event: &EventEnvelope) -> Result<EnqueueOutcome, QueueError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.keys.seen(&event.delivery_id))
            .key(self.keys.events())
            .arg(self.settings.dedupe_ttl.as_secs().max(1))
            .arg(CONSUMER_GROUP);
        for (name, value) in event.to_fields() {
            invocation.arg(name).arg(value);
        }
        let mut conn = self.conn.clone();
        let reply: Option<String> = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(match reply {
            Some(entry_id) => EnqueueOutcome::Enqueued { entry_id },
            None => EnqueueOutcome::Duplicate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_pipeline_hash_tag() {
        let keys = QueueKeys::new("shops", "acme");
        assert_eq!(keys.tag(), "{shops/acme}");
        assert_eq!(keys.events(), "sl:{shops/acme}:events");
        assert_eq!(keys.seen("abc"), "sl:{shops/acme}:seen:abc");
        assert_eq!(keys.cursor("orders"), "sl:{shops/acme}:cursor:orders");
        assert_eq!(keys.poller(), "sl:{shops/acme}:poller");
    }

    #[test]
    fn invalid_url_is_rejected_up_front() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = rt.block_on(async {
            Queue::new(
                "not a url",
                QueueKeys::new("a", "b"),
                QueueSettings::default(),
            )
        });
        assert!(matches!(result, Err(QueueError::InvalidUrl(_))));
    }
}
