//! The poller's Redis state: one lease per pipeline with a fencing token, and cursors whose
//! writes the token guards (Lua), plus the backfill's progress hash.

use std::collections::HashMap;
use std::time::Duration;

use super::consume::script;
use super::{BackfillProgress, ObjectProgress, Queue, QueueError};

/// Which lease operation to run.
#[derive(Debug, Clone, Copy)]
enum LeaseOp {
    Acquire,
    Renew(u64),
    Release(u64),
}

impl Queue {
    async fn lease(
        &self,
        holder: &str,
        ttl: Duration,
        op: LeaseOp,
    ) -> Result<Option<u64>, QueueError> {
        let script = script(include_str!("lua/lease.lua"));
        let mut invocation = script.prepare_invoke();
        let (mode, token) = match op {
            LeaseOp::Acquire => ("acquire", 0),
            LeaseOp::Renew(t) => ("renew", t),
            LeaseOp::Release(t) => ("release", t),
        };
        invocation
            .key(self.keys.poller())
            .key(self.keys.poller_fence())
            .arg(holder)
            .arg(ttl.as_millis().max(1) as u64)
            .arg(mode)
            .arg(token);
        let mut conn = self.conn.clone();
        self.bounded(invocation.invoke_async(&mut conn)).await
    }

    /// Takes the poller lease for `ttl` if it is free (or already `holder`'s): the fencing
    /// token, or `None` while another holder has it.
    pub async fn acquire_poller_lease(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, QueueError> {
        self.lease(holder, ttl, LeaseOp::Acquire).await
    }

    /// Extends the lease; false when it is no longer `holder`'s with `token`.
    pub async fn renew_poller_lease(
        &self,
        holder: &str,
        token: u64,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        Ok(self
            .lease(holder, ttl, LeaseOp::Renew(token))
            .await?
            .is_some())
    }

    /// Gives the lease up so another pod need not wait for it to expire.
    pub async fn release_poller_lease(&self, holder: &str, token: u64) -> Result<bool, QueueError> {
        let ttl = Duration::from_millis(1);
        Ok(self
            .lease(holder, ttl, LeaseOp::Release(token))
            .await?
            .is_some())
    }

    /// The cursor text of `object` (e.g. `orders`, `backfill:orders`).
    pub async fn load_cursor(&self, object: &str) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn.clone();
        let mut get = redis::cmd("GET");
        get.arg(self.keys.cursor(object));
        self.bounded(get.query_async(&mut conn)).await
    }

    /// Writes `cursor` (and `progress` fields into the backfill hash) if `lease` — the
    /// value `<token>:<holder>` — still holds the poller lease. False when it does not.
    pub async fn save_cursor(
        &self,
        lease: &str,
        object: &str,
        cursor: &str,
        progress: Option<(&str, &ObjectProgress)>,
    ) -> Result<bool, QueueError> {
        let script = script(include_str!("lua/cursor.lua"));
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.keys.poller())
            .key(self.keys.cursor(object))
            .key(self.keys.backfill())
            .arg(lease)
            .arg(cursor);
        for (field, value) in progress.map(|(o, p)| p.fields(o)).unwrap_or_default() {
            invocation.arg(field).arg(value);
        }
        let mut conn = self.conn.clone();
        let written: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(written == 1)
    }

    /// The backfill's progress, per object type.
    pub async fn backfill_progress(&self) -> Result<BackfillProgress, QueueError> {
        let mut conn = self.conn.clone();
        let mut all = redis::cmd("HGETALL");
        all.arg(self.keys.backfill());
        let fields: HashMap<String, String> = self.bounded(all.query_async(&mut conn)).await?;
        Ok(BackfillProgress::decode(&fields))
    }

    /// Records that a poll cycle finished at `at`, for the operator's `status.lastPollTime`
    /// and its scale-to-zero (a poll due wakes a worker); read back by `decode_poll_time`.
    pub async fn record_poll(&self, at: jiff::Timestamp) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        self.bounded(
            redis::cmd("SET")
                .arg(self.keys.last_poll())
                .arg(encode_poll_time(at))
                .query_async::<()>(&mut conn),
        )
        .await
    }
}

/// The poll record as stored: RFC 3339.
fn encode_poll_time(at: jiff::Timestamp) -> String {
    at.to_string()
}

/// The poll record read back; one that does not parse counts as never polled.
pub(super) fn decode_poll_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_record_round_trips_and_garbage_reads_as_never_polled() {
        let at: jiff::Timestamp = "2026-11-23T10:00:00.123456789Z".parse().unwrap();
        assert_eq!(decode_poll_time(&encode_poll_time(at)), Some(at));
        assert_eq!(decode_poll_time("yesterday"), None);
    }
}
