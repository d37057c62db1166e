//! The one-off import of history from `spec.polling.backfillSince`: per object type its own
//! cursor (`cursor:backfill:<object>`), saved after every page so a restarted poller resumes
//! where the last one stopped, and progress (`<object>:count`, `:done`, `:finishedAt`) in
//! the backfill hash. Resuming re-reads the cursor's second inclusively, skips what is
//! older, and enqueues that second's objects at or before the cursor again, counting only
//! those the dedupe finds new: ties across the restart are neither lost (whatever order
//! the store lists them in) nor re-counted.

use std::time::Instant;

use jiff::Timestamp;
use tracing::Instrument;

use super::cursor::{self, Cursor};
use super::{Lease, Poller, PollerError, RunReport};
use crate::model::ObjectKind;
use crate::queue::ObjectProgress;

impl Poller {
    /// Runs the backfill of every object type not yet done; a no-op without
    /// `backfillSince` or once done.
    pub async fn backfill(&self, lease: &Lease) -> Result<RunReport, PollerError> {
        let Some(since) = self.settings.backfill_since else {
            return Ok(RunReport::default());
        };
        let progress = self.queue.backfill_progress().await?;
        let mut report = RunReport::default();
        for kind in &self.kinds {
            let recorded = progress.object(kind.as_str());
            if recorded.done {
                continue;
            }
            let run = self.backfill_kind(lease, *kind, since, recorded.count);
            report += run.instrument(self.span.clone()).await?;
        }
        Ok(report)
    }

    async fn backfill_kind(
        &self,
        lease: &Lease,
        kind: ObjectKind,
        since: Timestamp,
        mut count: u64,
    ) -> Result<RunReport, PollerError> {
        let started = Instant::now();
        let name = kind.as_str();
        let key = format!("backfill:{name}");
        let resume = self
            .queue
            .load_cursor(&key)
            .await?
            .as_deref()
            .and_then(Cursor::parse);
        let start = resume.as_ref().map_or(since, |c| c.at);
        tracing::info!(object = name, from = %start, resumed = resume.is_some(), "backfill running");
        let mut pager = self.client.list_since(kind, start)?;
        let mut newest = resume.clone().unwrap_or_else(|| Cursor::at(since));
        let mut report = RunReport::default();
        while let Some(items) = lease
            .guard(pager.next_page())
            .await
            .ok_or(PollerError::LeaseLost)??
        {
            let (seen, page) = self
                .enqueue_page(kind, items, resume.as_ref(), "backfill")
                .await?;
            if let Some(seen) = seen {
                newest = cursor::newest(Some(newest), seen);
            }
            count += page.objects;
            report += page;
            // Saved after the page is in the stream: the cursor never runs ahead of it.
            let progress = ObjectProgress::running(count);
            self.save(lease, &key, newest.clone(), Some((name, &progress)))
                .await?;
        }
        let done = ObjectProgress::finished(count, Timestamp::now());
        self.save(lease, &key, newest, Some((name, &done))).await?;
        let seconds = started.elapsed().as_secs_f64();
        self.metrics
            .cycle
            .with_label_values(&["backfill"])
            .observe(seconds);
        tracing::info!(object = name, count, seconds, "backfill done");
        Ok(report)
    }
}
