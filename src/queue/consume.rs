//! The consuming side of a pipeline's stream: batches through the consumer group,
//! reclaiming a crashed worker's pending entries, ack-and-delete, and the delayed-retry
//! sorted set. Every multi-step change is one Lua script, so a crash never leaves half of it.

use std::collections::HashMap;
use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde::{Deserialize, Serialize};

use super::{CONSUMER_GROUP, Queue, QueueError};

/// One stream entry: its id and raw fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub fields: HashMap<String, Vec<u8>>,
}

/// The entry field a retried event carries the CRM writes that already landed in
/// (the worker owns its content; the queue only keeps it with the entry).
pub const LANDED_FIELD: &str = "landed";

impl Entry {
    /// A copy with one field set, e.g. the `landed` record of a partly written event before
    /// it goes to the retry set or the dead letters (both keep an entry's fields).
    pub fn with_field(&self, name: &str, value: String) -> Self {
        let mut copy = self.clone();
        copy.fields.insert(name.to_owned(), value.into_bytes());
        copy
    }

    /// How many times the entry failed before (0 for a first delivery).
    pub fn attempts(&self) -> u32 {
        self.text("attempts")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }

    /// A field as text (lossy), if present.
    pub fn text(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The Unix-ms time in the entry id (when Redis stored it).
    pub fn stored_at_ms(&self) -> Option<i64> {
        self.id.split('-').next()?.parse().ok()
    }

    pub(super) fn from_stream(id: StreamId) -> Self {
        let fields = id
            .map
            .into_iter()
            .filter_map(|(k, v)| match v {
                redis::Value::BulkString(bytes) => Some((k, bytes)),
                redis::Value::SimpleString(s) => Some((k, s.into_bytes())),
                _ => None,
            })
            .collect();
        Self { id: id.id, fields }
    }
}

/// A delayed retry as stored in the sorted set.
#[derive(Debug, Serialize, Deserialize)]
struct RetryMember {
    id: String,
    fields: HashMap<String, String>,
    attempts: u32,
    error: String,
}

pub(super) fn script(source: &'static str) -> redis::Script {
    redis::Script::new(source)
}

impl Queue {
    /// Up to `count` new entries for `consumer`, waiting up to `block` for the first.
    pub async fn read_batch(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, QueueError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(CONSUMER_GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(self.keys.events())
            .arg(">");
        let mut conn = self.conn.clone();
        let reply: Option<StreamReadReply> = self.bounded(cmd.query_async(&mut conn)).await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(Entry::from_stream)
            .collect())
    }

    /// Takes over entries pending longer than `min_idle` (a crashed worker's).
    pub async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, QueueError> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(self.keys.events())
            .arg(CONSUMER_GROUP)
            .arg(consumer)
            .arg(min_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count);
        let mut conn = self.conn.clone();
        let reply: StreamAutoClaimReply = self.bounded(cmd.query_async(&mut conn)).await?;
        Ok(reply
            .claimed
            .into_iter()
            .map(Entry::from_stream)
            // Entries deleted meanwhile come back without fields.
            .filter(|e| !e.fields.is_empty())
            .collect())
    }

    /// Resets the idle time of `ids` still pending with `consumer`, while a long batch is
    /// still working on them (see `lua/keep.lua`); answers how many were kept.
    pub async fn keep_pending(&self, consumer: &str, ids: &[&str]) -> Result<usize, QueueError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let script = script(include_str!("lua/keep.lua"));
        let mut invocation = script.key(self.keys.events());
        invocation.arg(CONSUMER_GROUP).arg(consumer);
        for id in ids {
            invocation.arg(*id);
        }
        let mut conn = self.conn.clone();
        let kept: usize = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(kept)
    }

    /// Removes consumers that hold no pending entries and were idle longer than `idle`:
    /// every worker pod joins the group under a new name, and without pruning the group
    /// would list every pod that ever ran. Answers how many were removed.
    pub async fn prune_consumers(&self, idle: Duration) -> Result<usize, QueueError> {
        let mut conn = self.conn.clone();
        let info: redis::streams::StreamInfoConsumersReply = self
            .bounded(
                redis::cmd("XINFO")
                    .arg("CONSUMERS")
                    .arg(self.keys.events())
                    .arg(CONSUMER_GROUP)
                    .query_async(&mut conn),
            )
            .await?;
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let mut removed = 0;
        for consumer in info.consumers {
            if consumer.pending == 0 && consumer.idle as u64 > idle_ms {
                let _: i64 = self
                    .bounded(
                        redis::cmd("XGROUP")
                            .arg("DELCONSUMER")
                            .arg(self.keys.events())
                            .arg(CONSUMER_GROUP)
                            .arg(&consumer.name)
                            .query_async(&mut conn),
                    )
                    .await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// XACK and XDEL, atomically: the stream keeps only work not yet done, so its length
    /// is the lag.
    pub async fn ack(&self, ids: &[String]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let script = script(include_str!("lua/ack.lua"));
        let mut invocation = script.key(self.keys.events());
        invocation.arg(CONSUMER_GROUP);
        for id in ids {
            invocation.arg(id);
        }
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Schedules `entry` to come back at `due_ms` (Unix ms) with `attempts`, and acks it.
    pub async fn schedule_retry(
        &self,
        entry: &Entry,
        attempts: u32,
        due_ms: i64,
        error: &str,
    ) -> Result<(), QueueError> {
        let member = RetryMember {
            id: entry.id.clone(),
            fields: entry
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            attempts,
            error: error.to_string(),
        };
        let member = serde_json::to_string(&member).map_err(|_| QueueError::UnexpectedReply)?;
        let script = script(include_str!("lua/retry.lua"));
        let mut invocation = script.key(self.keys.retry());
        invocation
            .key(self.keys.events())
            .arg(due_ms)
            .arg(member)
            .arg(CONSUMER_GROUP)
            .arg(&entry.id);
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Moves up to `limit` due retries back into the stream; answers how many.
    pub async fn promote_due_retries(&self, limit: usize) -> Result<usize, QueueError> {
        let script = script(include_str!("lua/promote.lua"));
        let mut invocation = script.key(self.keys.retry());
        invocation.key(self.keys.events()).arg(limit);
        let mut conn = self.conn.clone();
        let moved: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(usize::try_from(moved).unwrap_or(0))
    }

    /// Entries waiting or in flight (the lag), pending (delivered, not acked), delayed
    /// retries and dead letters, in one round trip.
    pub async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(self.keys.events())
            .cmd("ZCARD")
            .arg(self.keys.retry())
            .cmd("XLEN")
            .arg(self.keys.dead());
        let mut conn = self.conn.clone();
        let (lag, retries, dead_letters): (u64, u64, u64) =
            self.bounded(pipe.query_async(&mut conn)).await?;
        Ok(QueueDepth {
            lag,
            retries,
            dead_letters,
        })
    }
}

/// How much work a pipeline's queue holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Entries in the stream: not yet processed, or being processed.
    pub lag: u64,
    /// Entries waiting in the delayed-retry set.
    pub retries: u64,
    pub dead_letters: u64,
}

impl Queue {
    /// Records that the CRM refused the pipeline's token, for the operator's
    /// `CrmUnauthorized` condition; expires on its own if no worker renews it.
    pub async fn mark_crm_unauthorized(
        &self,
        message: &str,
        ttl: Duration,
    ) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        self.bounded(
            redis::cmd("SET")
                .arg(self.keys.crm_unauthorized())
                .arg(message)
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async::<()>(&mut conn),
        )
        .await
    }

    /// Clears the mark after the CRM accepted a write.
    pub async fn clear_crm_unauthorized(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        self.bounded(
            redis::cmd("DEL")
                .arg(self.keys.crm_unauthorized())
                .query_async::<()>(&mut conn),
        )
        .await
    }
}
