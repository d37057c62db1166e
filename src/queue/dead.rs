//! The dead-letter stream: events that failed permanently or ran out of attempts, with the
//! reason, attempt count and last error; listed, replayed and purged by filters.

use super::consume::{Entry, script};
use super::{CONSUMER_GROUP, Queue, QueueError};

/// Why an entry became a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter<'a> {
    /// A stable, low-cardinality word such as `crm_rejected` or `retries_exhausted`.
    pub reason: &'a str,
    pub attempts: u32,
    pub last_error: &'a str,
}

/// Which dead letters a list, replay or purge acts on. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    pub reason: Option<String>,
    /// Dead-lettered at or after this Unix-ms time.
    pub since_ms: Option<i64>,
    /// Dead-lettered before this Unix-ms time.
    pub until_ms: Option<i64>,
}

impl DeadLetterFilter {
    pub fn matches(&self, entry: &Entry) -> bool {
        let at = entry.stored_at_ms().unwrap_or(0);
        self.reason
            .as_deref()
            .is_none_or(|r| entry.text("reason").as_deref() == Some(r))
            && self.since_ms.is_none_or(|s| at >= s)
            && self.until_ms.is_none_or(|u| at < u)
    }
}

/// "1 dead letter", "3 dead letters": how reports and Events count them.
pub fn count_text(n: u64) -> String {
    match n {
        1 => "1 dead letter".to_string(),
        n => format!("{n} dead letters"),
    }
}

/// Entries read per round trip while scanning the dead letters.
const PAGE: usize = 500;

impl Queue {
    /// Moves `entry` to the dead-letter stream with why, and acks it, in one step.
    pub async fn dead_letter(&self, entry: &Entry, why: DeadLetter<'_>) -> Result<(), QueueError> {
        let script = script(include_str!("lua/dead.lua"));
        let mut invocation = script.key(self.keys.dead());
        invocation
            .key(self.keys.events())
            .arg(CONSUMER_GROUP)
            .arg(&entry.id);
        for (name, value) in &entry.fields {
            if !matches!(
                name.as_str(),
                "attempts" | "reason" | "last_error" | "source_id"
            ) {
                invocation.arg(name).arg(value.as_slice());
            }
        }
        invocation
            .arg("source_id")
            .arg(&entry.id)
            .arg("reason")
            .arg(why.reason)
            .arg("attempts")
            .arg(why.attempts)
            .arg("last_error")
            .arg(why.last_error);
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Dead letters matching `filter`, oldest first, at most `limit`.
    pub async fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
        limit: usize,
    ) -> Result<Vec<Entry>, QueueError> {
        let mut out = Vec::new();
        let mut start = match filter.since_ms {
            Some(ms) => format!("{ms}-0"),
            None => "-".to_string(),
        };
        let end = match filter.until_ms {
            Some(ms) => format!("({ms}-0"),
            None => "+".to_string(),
        };
        while out.len() < limit {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(self.keys.dead())
                .arg(&start)
                .arg(&end)
                .arg("COUNT")
                .arg(PAGE);
            let mut conn = self.conn.clone();
            let page: redis::streams::StreamRangeReply =
                self.bounded(cmd.query_async(&mut conn)).await?;
            let Some(last) = page.ids.last().map(|id| id.id.clone()) else {
                break;
            };
            let full = page.ids.len() == PAGE;
            out.extend(
                page.ids
                    .into_iter()
                    .map(Entry::from_stream)
                    .filter(|e| filter.matches(e)),
            );
            if !full {
                break;
            }
            start = format!("({last}");
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Moves the dead letters matching `filter` back into the events stream as first
    /// deliveries; answers how many moved.
    pub async fn replay_dead_letters(&self, filter: &DeadLetterFilter) -> Result<u64, QueueError> {
        self.each_dead_page(filter, include_str!("lua/replay.lua"), true)
            .await
    }

    /// Deletes the dead letters matching `filter`; answers how many.
    pub async fn purge_dead_letters(&self, filter: &DeadLetterFilter) -> Result<u64, QueueError> {
        self.each_dead_page(filter, include_str!("lua/purge.lua"), false)
            .await
    }

    async fn each_dead_page(
        &self,
        filter: &DeadLetterFilter,
        source: &'static str,
        with_events: bool,
    ) -> Result<u64, QueueError> {
        let script = script(source);
        let mut total = 0u64;
        loop {
            // Matching entries leave the stream as they are handled, so each page starts over.
            let page = self.dead_letters(filter, PAGE).await?;
            if page.is_empty() {
                return Ok(total);
            }
            let mut invocation = script.key(self.keys.dead());
            if with_events {
                invocation.key(self.keys.events()).arg(CONSUMER_GROUP);
            }
            for entry in &page {
                invocation.arg(&entry.id);
            }
            let mut conn = self.conn.clone();
            let moved: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
            total += u64::try_from(moved).unwrap_or(0);
            if moved == 0 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(id: &str, reason: &str) -> Entry {
        Entry {
            id: id.into(),
            fields: HashMap::from([("reason".to_string(), reason.as_bytes().to_vec())]),
        }
    }

    #[test]
    fn filters_by_reason_and_time() {
        let e = entry("1700000000000-0", "crm_rejected");
        assert!(DeadLetterFilter::default().matches(&e));
        let by_reason = |r: &str| DeadLetterFilter {
            reason: Some(r.into()),
            ..Default::default()
        };
        assert!(by_reason("crm_rejected").matches(&e));
        assert!(!by_reason("retries_exhausted").matches(&e));
        let window = |since, until| DeadLetterFilter {
            since_ms: since,
            until_ms: until,
            ..Default::default()
        };
        assert!(window(Some(1_700_000_000_000), None).matches(&e));
        assert!(!window(Some(1_700_000_000_001), None).matches(&e));
        assert!(!window(None, Some(1_700_000_000_000)).matches(&e));
        assert!(window(None, Some(1_700_000_000_001)).matches(&e));
    }
}
