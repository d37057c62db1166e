//! The write locks of one batch's events, renewed before every CRM call made on their
//! behalf. A batch can wait longer than its locks last (for budget tokens, behind a 429
//! pause); by then another worker may have claimed the object with a newer version, and
//! anything this batch still sends for it would overwrite that newer one. Renewing right
//! before each call leaves only a call that itself outlives the lock, which a CRM timeout
//! below the visibility timeout rules out.

use std::collections::BTreeSet;
use std::time::Duration;

use super::write::WriteFailure;
use crate::connectors::crm::hubspot::FailureClass;
use crate::queue::{Claim, Queue, QueueError};

/// The leases of a batch's claimed events, by event index.
#[derive(Debug)]
pub struct Leases<'a> {
    queue: &'a Queue,
    token: &'a str,
    ttl: Duration,
    claims: &'a [Claim],
    lost: Vec<bool>,
}

impl<'a> Leases<'a> {
    pub fn new(queue: &'a Queue, token: &'a str, ttl: Duration, claims: &'a [Claim]) -> Self {
        let lost = vec![false; claims.len()];
        Self {
            queue,
            token,
            ttl,
            claims,
            lost,
        }
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
        let claims: Vec<Claim> = ask.iter().map(|&i| self.claims[i].clone()).collect();
        let held = self
            .queue
            .renew_objects(self.token, self.ttl, &claims)
            .await?;
        for (i, held) in ask.into_iter().zip(held) {
            if !held {
                tracing::info!(object = %self.claims[i].object_key, "write lock taken over; the rest of the event is not sent");
                self.lost[i] = true;
            }
        }
        Ok(())
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
