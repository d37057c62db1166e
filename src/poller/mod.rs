//! The reconciliation poller (docs/design.md guarantee 6): per object type a cursor
//! `(updated_at, id)` in Redis; each cycle lists the store from the cursor minus
//! `spec.polling.lookback`, follows pagination to the end, enqueues every object as an
//! event, and saves the cursor only after all of it is enqueued, with a write the lease's
//! fencing token guards. One poller per pipeline holds the lease; `backfillSince` imports
//! history once, resumably, with its own cursor and progress.

mod backfill;
pub mod cursor;
pub mod lease;
pub mod metrics;
mod setup;

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;

use crate::api::duration::DurationError;
use crate::connectors::store::rest::{RestError, StoreClient};
use crate::model::ObjectKind;
use crate::queue::{EnqueueOutcome, ObjectProgress, Queue, QueueError};
use cursor::{Cursor, envelope, item_cursor};

pub use lease::Lease;
pub use metrics::PollerMetrics;
pub use setup::{settings, spawn_for_worker, store_client};

/// Tunables of a poller.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub interval: Duration,
    pub lookback: Duration,
    pub backfill_since: Option<Timestamp>,
    /// The lease TTL; the poller stops acting at two thirds of it without a renewal.
    pub lease_ttl: Duration,
    /// This process's name in the lease.
    pub holder: String,
}

/// Why a poll run failed. Stable variants; `kind()` labels metrics.
#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("store: {0}")]
    Store(#[from] RestError),
    #[error("the poller lease was lost; stopping before another poller starts")]
    LeaseLost,
    #[error("spec.polling: {0}")]
    Duration(#[from] DurationError),
    #[error("spec.polling.backfillSince is not an RFC 3339 time: {0:?}")]
    BackfillSince(String),
    #[error("the Secret has no {0} (store REST credentials)")]
    MissingCredential(crate::config::SecretKey),
    #[error("spec.store.url is not a URL: {0:?}")]
    StoreUrl(String),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl PollerError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Queue(e) => e.kind(),
            Self::Store(e) => e.kind(),
            Self::LeaseLost => "lease_lost",
            Self::Duration(_) | Self::BackfillSince(_) | Self::StoreUrl(_) => "invalid_spec",
            Self::MissingCredential(_) => "missing_credential",
            Self::Metrics(_) => "metrics",
        }
    }
}

/// What one run listed and enqueued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub pages: u64,
    /// Objects listed (after a resumed backfill's skip).
    pub objects: u64,
    /// New stream entries (the rest were versions already enqueued).
    pub enqueued: u64,
}

impl std::ops::AddAssign for RunReport {
    fn add_assign(&mut self, o: Self) {
        self.pages += o.pages;
        self.objects += o.objects;
        self.enqueued += o.enqueued;
    }
}

/// One pipeline's poller.
#[derive(Debug, Clone)]
pub struct Poller {
    pub client: StoreClient,
    pub queue: Queue,
    kinds: Vec<ObjectKind>,
    settings: PollerSettings,
    metrics: PollerMetrics,
    span: tracing::Span,
}

impl Poller {
    pub fn new(
        client: StoreClient,
        queue: Queue,
        kinds: &[ObjectKind],
        settings: PollerSettings,
        metrics: PollerMetrics,
        pipeline: &str,
    ) -> Self {
        let platform = client.platform();
        Self {
            kinds: kinds
                .iter()
                .copied()
                .filter(|k| platform.supports(*k))
                .collect(),
            span: tracing::info_span!("poller", pipeline = %pipeline, holder = %settings.holder),
            client,
            queue,
            settings,
            metrics,
        }
    }

    /// Takes the pipeline's poller lease if it is free.
    pub async fn acquire(&self) -> Result<Option<Lease>, PollerError> {
        Ok(Lease::acquire(&self.queue, &self.settings.holder, self.settings.lease_ttl).await?)
    }

    /// One reconciliation cycle over every object type.
    pub async fn poll_once(&self, lease: &Lease) -> Result<RunReport, PollerError> {
        let started = Instant::now();
        let mut report = RunReport::default();
        for kind in &self.kinds {
            report += self
                .poll_kind(lease, *kind)
                .instrument(self.span.clone())
                .await?;
        }
        self.metrics
            .cycle
            .with_label_values(&["poll"])
            .observe(started.elapsed().as_secs_f64());
        Ok(report)
    }

    async fn poll_kind(&self, lease: &Lease, kind: ObjectKind) -> Result<RunReport, PollerError> {
        let name = kind.as_str();
        let cursor = match self
            .queue
            .load_cursor(name)
            .await?
            .as_deref()
            .and_then(Cursor::parse)
        {
            Some(cursor) => cursor,
            // A first poll starts now: history is the backfill's job.
            None => {
                self.save(lease, name, Cursor::at(Timestamp::now()), None)
                    .await?
            }
        };
        let mut pager = self
            .client
            .list_since(kind, cursor.since(self.settings.lookback))?;
        let mut report = RunReport::default();
        let mut newest = cursor.clone();
        while let Some(items) = lease
            .guard(pager.next_page())
            .await
            .ok_or(PollerError::LeaseLost)??
        {
            let (seen, page) = self.enqueue_page(kind, items, None, "poll").await?;
            newest = seen.map_or(newest.clone(), |s| cursor::newest(Some(newest.clone()), s));
            report += page;
        }
        // Only now that every page is in the stream may the cursor move.
        if newest != cursor {
            self.save(lease, name, newest.clone(), None).await?;
        }
        let age = (Timestamp::now().as_millisecond() - newest.at.as_millisecond()) as f64 / 1000.0;
        self.metrics
            .cursor_age
            .with_label_values(&[name])
            .set(age.max(0.0));
        tracing::debug!(object = name, pages = report.pages, objects = report.objects, enqueued = report.enqueued, cursor = %newest.to_text(), "polled");
        Ok(report)
    }

    /// Writes a cursor if the lease still holds; `LeaseLost` otherwise.
    async fn save(
        &self,
        lease: &Lease,
        object: &str,
        cursor: Cursor,
        progress: Option<(&str, &ObjectProgress)>,
    ) -> Result<Cursor, PollerError> {
        if !lease.alive()
            || !self
                .queue
                .save_cursor(&lease.value(), object, &cursor.to_text(), progress)
                .await?
        {
            return Err(PollerError::LeaseLost);
        }
        Ok(cursor)
    }

    /// Enqueues one page: the newest position seen. With `after` (a resumed backfill's
    /// cursor), items of an earlier second are skipped: the run that saved the cursor
    /// enqueued them. Items of the cursor's own second at or before it are enqueued again
    /// and counted only if new: a store may list one shown second by a finer time than it
    /// shows, so an object with a smaller id may come after the cursor's and be unseen.
    async fn enqueue_page(
        &self,
        kind: ObjectKind,
        items: Vec<Value>,
        after: Option<&Cursor>,
        mode: &str,
    ) -> Result<(Option<Cursor>, RunReport), PollerError> {
        let platform = self.client.platform();
        let now = Timestamp::now();
        let mut newest = None;
        let mut envelopes = Vec::with_capacity(items.len());
        let mut maybe_seen = Vec::with_capacity(items.len());
        for item in &items {
            let position = item_cursor(platform, kind, item);
            let again = match (&position, after) {
                (Some(p), Some(after)) if p.at < after.at => continue,
                (Some(p), Some(after)) => p <= after,
                _ => false,
            };
            if let Some(p) = &position {
                newest = Some(cursor::newest(newest, p.clone()));
            }
            envelopes.push(envelope(platform, kind, item, position.as_ref(), now));
            maybe_seen.push(again);
        }
        // Concurrent calls share one multiplexed connection: Redis sees them pipelined.
        let outcomes = try_join_all(envelopes.iter().map(|e| self.queue.enqueue(e))).await?;
        let new = |o: &EnqueueOutcome| matches!(o, EnqueueOutcome::Enqueued { .. });
        let enqueued = outcomes.iter().filter(|o| new(o)).count() as u64;
        let seen_before = outcomes
            .iter()
            .zip(&maybe_seen)
            .filter(|(o, again)| **again && !new(o))
            .count();
        let objects = (envelopes.len() - seen_before) as u64;
        let labels = [kind.as_str(), mode];
        self.metrics.pages.with_label_values(&labels).inc();
        self.metrics
            .objects
            .with_label_values(&labels)
            .inc_by(objects);
        Ok((
            newest,
            RunReport {
                pages: 1,
                objects,
                enqueued,
            },
        ))
    }

    /// Competes for the lease until `stopped`; while holding it, backfills (once) and polls
    /// every `interval`. A lost lease stops the work in hand at once.
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        let span = self.span.clone();
        async move {
            while !*stopped.borrow() {
                let retry = self.settings.lease_ttl / 3;
                match self.acquire().await {
                    Ok(Some(lease)) => {
                        tracing::info!(token = lease.token, "poller lease acquired");
                        self.metrics.leader.set(1);
                        self.lead(&lease, &mut stopped).await;
                        self.metrics.leader.set(0);
                        if *stopped.borrow() {
                            lease.release(&self.queue).await;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "poller lease not acquired"),
                }
                if crate::shutdown::pause(retry, &mut stopped).await {
                    break;
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn lead(&self, lease: &Lease, stopped: &mut watch::Receiver<bool>) {
        loop {
            let started = Instant::now();
            let work = async {
                let mut report = self.backfill(lease).await?;
                report += self.poll_once(lease).await?;
                Ok::<_, PollerError>(report)
            };
            let result = tokio::select! {
                r = work => r,
                _ = stopped.wait_for(|s| *s) => return,
            };
            match result {
                Ok(r) => {
                    tracing::info!(
                        pages = r.pages,
                        objects = r.objects,
                        enqueued = r.enqueued,
                        "poll cycle done"
                    );
                    let now = jiff::Timestamp::now();
                    self.metrics
                        .last_poll
                        .set(now.as_millisecond() as f64 / 1000.0);
                    if let Err(e) = self.queue.record_poll(now).await {
                        tracing::warn!(error = %e, "could not record the poll time");
                    }
                }
                Err(PollerError::LeaseLost) => {
                    tracing::warn!("poller lease lost mid-cycle; cursor left where it was");
                    return;
                }
                Err(e) => {
                    self.metrics.errors.with_label_values(&[e.kind()]).inc();
                    tracing::warn!(error = %e, "poll cycle failed; cursor left where it was");
                }
            }
            let wait = self.settings.interval.saturating_sub(started.elapsed());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.wait_for(|s| *s) => return,
                () = lease.lost() => return,
            }
        }
    }
}
