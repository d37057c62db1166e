//! One batch, end to end: plan it, settle what needs no CRM call, claim the objects
//! against their watermarks, write the claimed ones, then commit + ack successes and
//! retry or dead-letter failures. An entry is acked only after its write succeeded, it
//! was dead-lettered, or it was moved to the retry set (all atomic in Redis).

use std::time::Duration;

use jiff::Timestamp;

use super::lease::{Held, Leases};
use super::plan::{Item, Plan, PlanContext, plan};
use super::retry::{Decision, decide};
use super::write::{CrmWriter, EventWrites, WriteFailure};
use crate::connectors::crm::hubspot::FailureClass;
use crate::model::ObjectKind;
use crate::queue::{ClaimOutcome, DeadLetter, Entry, LANDED_FIELD, Queue, QueueError};

/// How long the CRM-unauthorized mark lives unless renewed.
const UNAUTHORIZED_TTL: Duration = Duration::from_secs(600);

/// What one batch came to, for the loop's back-off and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub written: usize,
    pub retried: usize,
    pub dead_lettered: usize,
    /// The CRM looked down or over its limit: the loop backs off before the next batch.
    pub outage: bool,
}

/// Everything a batch needs.
#[derive(Debug, Clone)]
pub struct BatchHandler {
    pub queue: Queue,
    pub writer: CrmWriter,
    pub plan: PlanContext,
    /// Consumer name and lock token of this worker.
    pub consumer: String,
    pub max_attempts: u32,
    /// How long object locks last (the visibility timeout).
    pub lock_ttl: Duration,
}

/// The object kind label of an entry (from its envelope), for metrics.
fn kind_label(entry: &Entry) -> &'static str {
    entry
        .text("object_kind")
        .and_then(|k| ObjectKind::parse(&k))
        .map_or("other", ObjectKind::as_str)
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl BatchHandler {
    fn count(&self, entry: &Entry, outcome: &str) {
        self.writer.metrics.count(kind_label(entry), outcome, 1);
    }

    /// Handles `entries`. A Redis error aborts the batch: unacked entries stay pending and
    /// are reclaimed after the visibility timeout, so nothing is lost.
    pub async fn handle(&self, entries: &[Entry]) -> Result<BatchReport, QueueError> {
        self.writer.metrics.batch_size.observe(entries.len() as f64);
        let mut report = BatchReport::default();
        let planned = plan(entries, &self.plan, Timestamp::now());
        self.settle_plan(entries, &planned, &mut report).await?;
        let claimed = self.claim(entries, &planned.items).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let failed = self.write(entries, &claimed, &mut report).await?;
        self.settle_failures(&failed, &mut report).await?;
        Ok(report)
    }

    /// What the plan decided without the CRM: acks of skipped and coalesced entries, dead
    /// letters, and checkouts to look at again later.
    async fn settle_plan(
        &self,
        entries: &[Entry],
        planned: &Plan,
        report: &mut BatchReport,
    ) -> Result<(), QueueError> {
        let done: Vec<String> = planned
            .done
            .iter()
            .map(|(i, _)| entries[*i].id.clone())
            .collect();
        self.queue.ack(&done).await?;
        for (i, why) in &planned.done {
            self.count(&entries[*i], why.outcome());
        }
        for dead in &planned.dead {
            let entry = &entries[dead.entry];
            self.dead_letter(entry, dead.reason, entry.attempts(), &dead.error)
                .await?;
            report.dead_lettered += 1;
        }
        for (i, due) in &planned.later {
            let entry = &entries[*i];
            self.queue
                .schedule_retry(entry, entry.attempts(), *due, "checkout not abandoned yet")
                .await?;
            self.count(entry, "deferred");
        }
        Ok(())
    }

    /// Claims the items' objects: stale ones are acked, busy ones deferred; answers the
    /// claimed items, whose versions are now open in their watermarks.
    async fn claim<'a>(
        &self,
        entries: &[Entry],
        items: &'a [Item],
    ) -> Result<Vec<&'a Item>, QueueError> {
        let claims: Vec<_> = items.iter().map(|i| i.claim.clone()).collect();
        let outcomes = self
            .queue
            .claim_objects(&self.consumer, self.lock_ttl, &claims)
            .await?;
        let mut claimed = Vec::new();
        let mut stale = Vec::new();
        for (item, outcome) in items.iter().zip(outcomes) {
            let entry = &entries[item.entry];
            match outcome {
                ClaimOutcome::Claimed => claimed.push(item),
                ClaimOutcome::Stale => {
                    stale.push(entry.id.clone());
                    self.writer.metrics.watermark_drops.inc();
                    self.count(entry, "stale");
                }
                ClaimOutcome::Busy => {
                    // Another worker writes this object now; look again in about a second.
                    let due = now_ms() + 500 + fastrand::i64(0..1000);
                    self.queue
                        .schedule_retry(entry, entry.attempts(), due, "object busy")
                        .await?;
                    self.count(entry, "deferred");
                }
            }
        }
        self.queue.ack(&stale).await?;
        Ok(claimed)
    }

    /// Writes the claimed items, commits and acks the ones fully written, and releases the
    /// rest (their watermarks stay open at their versions). Answers the failures, each
    /// entry carrying what of it landed.
    async fn write(
        &self,
        entries: &[Entry],
        claimed: &[&Item],
        report: &mut BatchReport,
    ) -> Result<Vec<(WriteFailure, Entry)>, QueueError> {
        let writes: Vec<EventWrites<'_>> = claimed
            .iter()
            .map(|i| EventWrites {
                writes: &i.writes,
                landed: &i.landed,
                retry: entries[i.entry].attempts() > 0 || !i.landed.is_empty(),
            })
            .collect();
        let held: Vec<_> = claimed.iter().map(|i| i.claim.clone()).collect();
        let in_hand = claimed
            .iter()
            .map(|i| Held {
                claim: &i.claim,
                entry_id: &entries[i.entry].id,
            })
            .collect();
        let mut leases = Leases::new(&self.queue, &self.consumer, self.lock_ttl, in_hand);
        let results = match self.writer.write(&writes, &mut leases).await {
            Ok(results) => results,
            Err(e) => {
                let _ = self.queue.release_objects(&self.consumer, &held).await;
                return Err(e);
            }
        };
        let mut ok_claims = Vec::new();
        let mut ok_ids = Vec::new();
        let mut ok_entries = Vec::new();
        let mut failed_claims = Vec::new();
        let mut failed = Vec::new();
        for (item, outcome) in claimed.iter().zip(results) {
            let entry = &entries[item.entry];
            match outcome.failure {
                None => {
                    ok_claims.push(item.claim.clone());
                    ok_ids.push(entry.id.clone());
                    ok_entries.push(entry);
                }
                Some(f) => {
                    failed_claims.push(item.claim.clone());
                    // The retry (or a replayed dead letter) sends only what is missing.
                    let entry = if outcome.landed.is_empty() {
                        entry.clone()
                    } else {
                        entry.with_field(LANDED_FIELD, outcome.landed.encode())
                    };
                    failed.push((f, entry));
                }
            }
        }
        // Watermarks first: a crash before the ack re-delivers the entry, which then finds
        // its content written and is dropped as stale.
        self.queue
            .commit_objects(&self.consumer, &ok_claims)
            .await?;
        self.queue.ack(&ok_ids).await?;
        for entry in ok_entries {
            self.count(entry, "written");
        }
        report.written = ok_ids.len();
        if !ok_ids.is_empty() {
            self.queue.clear_crm_unauthorized().await?;
        }
        // Released, not committed: the watermark stays open at this version, so an older
        // version is dropped while this one's retry may still claim it.
        self.queue
            .release_objects(&self.consumer, &failed_claims)
            .await?;
        Ok(failed)
    }

    /// Retries or dead-letters each failed entry by its failure's class.
    async fn settle_failures(
        &self,
        failed: &[(WriteFailure, Entry)],
        report: &mut BatchReport,
    ) -> Result<(), QueueError> {
        for (failure, entry) in failed {
            if matches!(failure.class, FailureClass::Outage { .. }) {
                report.outage = true;
            }
            if failure.class == FailureClass::Unauthorized {
                self.queue
                    .mark_crm_unauthorized(&failure.message, UNAUTHORIZED_TTL)
                    .await?;
            }
            match decide(
                &failure.class,
                entry.attempts(),
                self.max_attempts,
                fastrand::f64(),
            ) {
                Decision::Retry { attempts, delay } => {
                    let due = now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                    self.queue
                        .schedule_retry(entry, attempts, due, &failure.message)
                        .await?;
                    self.writer
                        .metrics
                        .retries
                        .with_label_values(&[failure.class.label()])
                        .inc();
                    self.count(entry, "retried");
                    report.retried += 1;
                }
                Decision::DeadLetter { reason, attempts } => {
                    self.dead_letter(entry, reason, attempts, &failure.message)
                        .await?;
                    report.dead_lettered += 1;
                }
            }
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        entry: &Entry,
        reason: &str,
        attempts: u32,
        error: &str,
    ) -> Result<(), QueueError> {
        self.queue
            .dead_letter(
                entry,
                DeadLetter {
                    reason,
                    attempts,
                    last_error: error,
                },
            )
            .await?;
        self.writer
            .metrics
            .dead_letters
            .with_label_values(&[reason])
            .inc();
        self.count(entry, "dead_lettered");
        tracing::warn!(entry = %entry.id, reason, attempts, error, "event dead-lettered");
        Ok(())
    }
}
