//! Operator-side Redis calls: reachability checks, sampling a pipeline's queue for its
//! status, replaying dead letters on request, and removing a deleted pipeline's keys.

use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::StreamPendingReply;

use super::{CONSUMER_GROUP, DeadLetterFilter, Queue, QueueError, QueueKeys, QueueSettings};

/// Why a Redis call failed. Messages never include the URL (it may hold a password).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis error: {0}")]
    Redis(String),
}

fn redis_err(e: redis::RedisError) -> AdminError {
    AdminError::Redis(e.to_string())
}

/// Where a pipeline's Redis is, as the operator reads it from the spec and Secret. Debug
/// never shows the URL (it may hold a password).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisTarget {
    pub url: String,
    /// The Secret's `redisCaCert`, for a `rediss://` server signed by a private CA.
    pub tls_ca: Option<String>,
}

impl RedisTarget {
    /// A Redis trusted through the system roots (or plain `redis://`).
    pub fn plain(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tls_ca: None,
        }
    }
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTarget")
            .field("tls_ca", &self.tls_ca.is_some())
            .finish_non_exhaustive()
    }
}

/// A multiplexed connection to `target` (the operator keeps one per Redis, see
/// `operator::redis_pool`).
pub async fn connect(
    target: &RedisTarget,
    timeout: Duration,
) -> Result<redis::aio::MultiplexedConnection, AdminError> {
    let client = super::redis_client(&target.url, target.tls_ca.as_deref())
        .map_err(|e| AdminError::InvalidUrl(e.category().to_string()))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    tokio::time::timeout(
        timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| AdminError::Timeout(timeout))?
    .map_err(redis_err)
}

/// Checks that Redis answers a PING within `timeout`.
pub async fn ping(target: &RedisTarget, timeout: Duration) -> Result<(), AdminError> {
    let mut conn = connect(target, timeout).await?;
    let ping = redis::cmd("PING");
    let fut = ping.query_async::<String>(&mut conn);
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| AdminError::Timeout(timeout))?
        .map_err(redis_err)?;
    Ok(())
}

/// One reading of a pipeline's queue, and what workers report about the CRM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSample {
    /// Entries in the events stream (acked entries are deleted, so this is the backlog).
    pub lag: u64,
    /// Entries delivered to a worker and not yet acknowledged.
    pub pending: u64,
    pub dead_letters: u64,
    /// Entries waiting in the delayed-retry set.
    pub retries: u64,
    /// HubSpot's message while workers find the pipeline's token refused (401/403).
    pub crm_unauthorized: Option<String>,
    /// When the poller last finished a cycle, if it ever did (`Queue::record_poll`).
    pub last_poll: Option<jiff::Timestamp>,
    /// The backfill's progress, per object type.
    pub backfill: super::BackfillProgress,
    /// The CRM limits the workers last saw HubSpot state, if any.
    pub crm_limits: Option<super::StatedLimits>,
    /// What the workers report limits them (`None` while no worker reports).
    pub load: Option<super::LoadSummary>,
}

/// The sampled replies, in the order `sample` queues the commands.
type SampleReply = (
    redis::RedisResult<u64>,
    redis::RedisResult<StreamPendingReply>,
    redis::RedisResult<u64>,
    redis::RedisResult<u64>,
    redis::RedisResult<Option<String>>,
    redis::RedisResult<Option<String>>,
    redis::RedisResult<std::collections::BTreeMap<String, String>>,
    redis::RedisResult<std::collections::BTreeMap<String, String>>,
    redis::RedisResult<std::collections::BTreeMap<String, String>>,
);

/// Reads a pipeline's queue figures and the workers' CRM-refusal flag in one MULTI round
/// trip, so every figure describes the same instant. A stream or group that does not exist
/// yet (no event ever arrived, no worker ever attached) counts as 0 pending, not an error.
pub async fn sample(
    target: &RedisTarget,
    keys: &QueueKeys,
    timeout: Duration,
) -> Result<QueueSample, AdminError> {
    let mut conn = connect(target, timeout).await?;
    sample_on(&mut conn, keys, timeout).await
}

/// `sample` over an open connection: one MULTI round trip.
pub async fn sample_on(
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &QueueKeys,
    timeout: Duration,
) -> Result<QueueSample, AdminError> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .ignore_errors()
        .cmd("XLEN")
        .arg(keys.events())
        .cmd("XPENDING")
        .arg(keys.events())
        .arg(CONSUMER_GROUP)
        .cmd("XLEN")
        .arg(keys.dead())
        .cmd("ZCARD")
        .arg(keys.retry())
        .cmd("GET")
        .arg(keys.crm_unauthorized())
        .cmd("GET")
        .arg(keys.last_poll())
        .cmd("HGETALL")
        .arg(keys.backfill())
        .cmd("HGETALL")
        .arg(keys.crm_limits())
        .cmd("HGETALL")
        .arg(keys.load());
    let (lag, pending, dead, retries, crm, last_poll, backfill, limits, load): SampleReply =
        tokio::time::timeout(timeout, pipe.query_async(conn))
            .await
            .map_err(|_| AdminError::Timeout(timeout))?
            .map_err(redis_err)?;
    let pending = match pending {
        Ok(StreamPendingReply::Data(data)) => data.count as u64,
        Ok(_) => 0,
        Err(e) if e.code() == Some("NOGROUP") => 0,
        Err(e) => return Err(redis_err(e)),
    };
    Ok(QueueSample {
        lag: lag.map_err(redis_err)?,
        pending,
        dead_letters: dead.map_err(redis_err)?,
        retries: retries.map_err(redis_err)?,
        crm_unauthorized: crm.map_err(redis_err)?.filter(|m| !m.is_empty()),
        last_poll: last_poll
            .map_err(redis_err)?
            .and_then(|t| super::poller::decode_poll_time(&t)),
        backfill: super::BackfillProgress::decode(&backfill.map_err(redis_err)?),
        crm_limits: super::StatedLimits::from_hash(&limits.map_err(redis_err)?),
        load: super::LoadSummary::of(&load.map_err(redis_err)?, super::unix_ms()),
    })
}

/// Moves every dead letter of the pipeline back into its events stream (the workers'
/// replay script, so the operator and `syncline dlq replay` behave alike); answers how
/// many moved.
pub async fn replay_dead_letters(
    target: &RedisTarget,
    keys: &QueueKeys,
    timeout: Duration,
) -> Result<u64, AdminError> {
    let settings = QueueSettings {
        deadline: timeout,
        tls_ca: target.tls_ca.clone(),
        ..QueueSettings::default()
    };
    let queue = Queue::new(&target.url, keys.clone(), settings).map_err(queue_err)?;
    queue
        .replay_dead_letters(&DeadLetterFilter::default())
        .await
        .map_err(queue_err)
}

fn queue_err(e: QueueError) -> AdminError {
    match e {
        QueueError::InvalidUrl(e) => AdminError::InvalidUrl(e.category().to_string()),
        QueueError::Timeout(t) => AdminError::Timeout(t),
        other => AdminError::Redis(other.to_string()),
    }
}

/// Removes every key of one pipeline (queue, dedupe markers, watermarks, retries, dead
/// letters, cursors, lease) and returns how many were removed. The shared CRM rate-limit
/// bucket is another tag and is left alone.
pub async fn delete_pipeline_keys(
    target: &RedisTarget,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<u64, AdminError> {
    let mut conn = connect(target, timeout).await?;
    let pattern = format!(
        "{}:*",
        glob_escape(QueueKeys::new(namespace, name).prefix())
    );
    let work = async {
        let mut removed = 0u64;
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                removed += conn.unlink::<_, u64>(&keys).await?;
            }
            if next == 0 {
                return Ok::<u64, redis::RedisError>(removed);
            }
            cursor = next;
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| AdminError::Timeout(timeout))?
        .map_err(redis_err)
}

/// Escapes Redis glob metacharacters so a name is matched literally.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_metacharacters_are_escaped() {
        assert_eq!(glob_escape("sl:{a/b}:"), "sl:{a/b}:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
