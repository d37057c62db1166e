//! The write locks of one batch's events, renewed before every CRM call made on their
//! behalf. A batch can wait longer than its locks last (for budget tokens, behind a 429
//! pause); by then another worker may have claimed the object with a newer version, and
//! anything this batch still sends for it would overwrite that newer one. Renewing right
//! before each call leaves only a call that itself outlives the lock, which a CRM timeout
//! below the visibility timeout rules out.
//!
//! The batch's stream entries are kept too: their idle time is reset every quarter of the
//! visibility timeout while the batch works, so another lane's or pod's reclaim of idle
//! entries does not take over one still in hand and write it a second time.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::write::WriteFailure;
use crate::connectors::crm::hubspot::FailureClass;
use crate::queue::{Claim, Queue, QueueError};

/// One claimed event: the object it writes and the stream entry it came in.
#[derive(Debug, Clone)]
pub struct Held<'a> {
    pub claim: &'a Claim,
    pub entry_id: &'a str,
}

/// The leases of a batch's claimed events, by event index.
#[derive(Debug)]
pub struct Leases<'a> {
    queue: &'a Queue,
    /// The consumer name, which is also its lock token.
    consumer: &'a str,
    ttl: Duration,
    held: Vec<Held<'a>>,
    lost: Vec<bool>,
    /// When the entries' idle time was last reset (the read or claim counts as one).
    kept: Instant,
}

impl<'a> Leases<'a> {
    pub fn new(queue: &'a Queue, consumer: &'a str, ttl: Duration, held: Vec<Held<'a>>) -> Self {
        let lost = vec![false; held.len()];
        Self {
            queue,
            consumer,
            ttl,
            held,
            lost,
            kept: Instant::now(),
        }
    }

    /// Resets the idle time of the entries not lost yet, once a quarter of the visibility
    /// timeout has passed since the last time: often enough that a reclaim (which takes
    /// entries idle for the whole timeout) never sees them, rarely enough to cost nothing
    /// on a short batch.
    pub async fn keep_entries(&mut self) -> Result<(), QueueError> {
        if self.kept.elapsed() < self.ttl / 4 {
            return Ok(());
        }
        let ids: Vec<&str> = (0..self.held.len())
            .filter(|&i| !self.is_lost(i))
            .map(|i| self.held[i].entry_id)
            .collect();
        self.queue.keep_pending(self.consumer, &ids).await?;
        self.kept = Instant::now();
        Ok(())
    }

    /// Renews the leases of `events` not lost yet, marking the ones another worker took.
    pub async fn renew(
        &mut self,
        events: impl IntoIterator<Item = usize>,
    ) -> Result<(), QueueError> {
        let ask: Vec<usize> = events
            .into_iter()
            .filter(|&i| !self.is_lost(i))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let claims: Vec<Claim> = ask.iter().map(|&i| self.held[i].claim.clone()).collect();
        let held = self
            .queue
            .renew_objects(self.consumer, self.ttl, &claims)
            .await?;
        for (i, held) in ask.into_iter().zip(held) {
            if !held {
                tracing::info!(object = %self.held[i].claim.object_key, "write lock taken over; the rest of the event is not sent");
                self.lost[i] = true;
            }
        }
        self.keep_entries().await
    }

    /// Whether event `i`'s lease was lost (an index past the batch counts as lost).
    pub fn is_lost(&self, i: usize) -> bool {
        self.lost.get(i).copied().unwrap_or(true)
    }

    /// The indices of events whose lease was lost.
    pub fn lost(&self) -> impl Iterator<Item = usize> + '_ {
        self.lost
            .iter()
            .enumerate()
            .filter(|(_, l)| **l)
            .map(|(i, _)| i)
    }
}

/// What an event whose lease was lost failed with.
pub fn lease_lost() -> WriteFailure {
    WriteFailure {
        class: FailureClass::LeaseLost,
        message: "the object's write lock lapsed and another worker took it over".into(),
    }
}
