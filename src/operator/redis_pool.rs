//! One multiplexed connection per Redis the pipelines use, shared by every reconcile, so a
//! queue sample is one round trip (no connect and handshake each time) and samples of many
//! pipelines on one Redis are pipelined on it, not serialized.
//!
//! A Redis that could not be reached is not dialled again for `RETRY_UNREACHABLE_AFTER`:
//! its pipelines get the remembered error at once, so a Redis that is down does not hold a
//! reconcile slot for the whole timeout on every resync and slow the other pipelines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::queue::QueueKeys;
use crate::queue::admin::{self, AdminError, QueueSample, RedisTarget};

/// How long a Redis that failed to connect answers with its remembered error.
pub const RETRY_UNREACHABLE_AFTER: Duration = Duration::from_secs(10);

enum Entry {
    Open(MultiplexedConnection),
    Unreachable { since: Instant, error: AdminError },
}

/// The connections, by Redis target.
#[derive(Default)]
pub struct RedisPool {
    entries: Mutex<HashMap<(String, Option<String>), Entry>>,
}

/// Whether a Redis that failed at `failed_at` may be dialled again at `now`.
pub fn may_retry(failed_at: Instant, now: Instant, hold: Duration) -> bool {
    now.saturating_duration_since(failed_at) >= hold
}

fn key(target: &RedisTarget) -> (String, Option<String>) {
    (target.url.clone(), target.tls_ca.clone())
}

impl RedisPool {
    /// Samples the pipeline's queue over the shared connection to its Redis. A failed query
    /// drops the connection, so the next sample dials afresh.
    pub async fn sample(
        &self,
        target: &RedisTarget,
        keys: &QueueKeys,
        timeout: Duration,
    ) -> Result<QueueSample, AdminError> {
        let mut conn = self.connection(target, timeout).await?;
        let sample = admin::sample_on(&mut conn, keys, timeout).await;
        if sample.is_err() {
            self.lock().remove(&key(target));
        }
        sample
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Option<String>), Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn connection(
        &self,
        target: &RedisTarget,
        timeout: Duration,
    ) -> Result<MultiplexedConnection, AdminError> {
        match self.lock().get(&key(target)) {
            Some(Entry::Open(conn)) => return Ok(conn.clone()),
            Some(Entry::Unreachable { since, error })
                if !may_retry(*since, Instant::now(), RETRY_UNREACHABLE_AFTER) =>
            {
                return Err(error.clone());
            }
            _ => {}
        }
        let entry = match admin::connect(target, timeout).await {
            Ok(conn) => Entry::Open(conn),
            Err(error) => Entry::Unreachable {
                since: Instant::now(),
                error,
            },
        };
        let result = match &entry {
            Entry::Open(conn) => Ok(conn.clone()),
            Entry::Unreachable { error, .. } => Err(error.clone()),
        };
        self.lock().insert(key(target), entry);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_redis_is_dialled_again_only_after_the_hold() {
        let t = Instant::now();
        let hold = Duration::from_secs(10);
        let cases = [
            (Duration::ZERO, false),
            (Duration::from_secs(9), false),
            (Duration::from_secs(10), true),
            (Duration::from_secs(60), true),
        ];
        for (after, retry) in cases {
            assert_eq!(may_retry(t, t + after, hold), retry, "{after:?}");
        }
        assert!(
            !may_retry(t + hold, t, hold),
            "a clock read earlier never retries"
        );
    }
}
