//! Writes the CRM side of a batch: one batch upsert per object type (≤ 100 inputs per call,
//! inputs shared by several events merged), then the associations by the ids HubSpot
//! returned. Every call first takes a token from the account's shared budget. Failures are
//! traced back to the events they belong to, so one bad input fails only its own event.

mod associate;
mod inputs;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::landed::Landed;
use super::lease::{Leases, lease_lost};
use super::metrics::WorkerMetrics;
use crate::connectors::crm::hubspot::client::bootstrap_steps;
use crate::connectors::crm::hubspot::mapping::{
    CrmWrites, HubspotObject, Upsert, required_properties,
};
use crate::connectors::crm::hubspot::{CrmError, FailureClass, HubspotClient, MAX_BATCH};
use crate::queue::{Queue, QueueError, RateBudget};
use inputs::Sources;

/// Why one event's writes failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    pub class: FailureClass,
    /// What the CRM said (no token, no payload).
    pub message: String,
}

impl WriteFailure {
    fn from_error(e: &CrmError) -> Self {
        Self {
            class: FailureClass::of(e),
            message: e.to_string(),
        }
    }
}

/// One event's writes, with what of them landed before (a retry's record).
#[derive(Debug, Clone, Copy)]
pub struct EventWrites<'a> {
    pub writes: &'a CrmWrites,
    pub landed: &'a Landed,
    /// The event failed before: what it sends now is budget spent on a retry.
    pub retry: bool,
}

/// What writing one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// Why some of its writes are missing; `None` when all landed.
    pub failure: Option<WriteFailure>,
    /// Every upsert of the event that has reached HubSpot, with its id.
    pub landed: Landed,
}

/// The CRM writer of one worker.
#[derive(Clone, Debug)]
pub struct CrmWriter {
    pub client: HubspotClient,
    pub queue: Queue,
    /// The account's shared bucket key.
    pub bucket: String,
    /// The declared budget (`spec.crmRateLimit`); HubSpot's headers may slow it down.
    pub budget: RateBudget,
    pub metrics: WorkerMetrics,
    pub published: super::pace::Published,
    pub products: super::products::ProductIds,
    /// Where this worker's time goes, for the scaler.
    pub load: super::load::LoadMeter,
}

type Key = (HubspotObject, String);
/// Per upsert input sent, in order: its key, the events it was sent for, and its HubSpot
/// id or why it failed.
type InputResults = Vec<(String, Vec<usize>, Result<String, WriteFailure>)>;

/// Upserts are sent in this order; associations come after all of them.
const ORDER: [HubspotObject; 4] = [
    HubspotObject::Contacts,
    HubspotObject::Products,
    HubspotObject::Deals,
    HubspotObject::LineItems,
];

impl CrmWriter {
    /// Waits for a token of the shared budget.
    pub(super) async fn admit(&self) -> Result<(), QueueError> {
        while let Some(wait) = self.take_token().await? {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Takes a token, or answers how long to wait for one (counted as budget wait).
    async fn take_token(&self) -> Result<Option<Duration>, QueueError> {
        let wait = self.queue.rate_take(&self.bucket, self.budget).await?;
        if let Some(wait) = wait {
            self.metrics.rate_wait.observe(wait.as_secs_f64());
            self.load.budget_wait(wait);
        }
        Ok(wait)
    }

    /// Waits for a token, keeping the batch's entries in hand meanwhile, then renews the
    /// leases of the events the call is for: the wait for the token is where a lease
    /// lapses.
    async fn admit_for(
        &self,
        leases: &mut Leases<'_>,
        events: impl IntoIterator<Item = usize>,
    ) -> Result<(), QueueError> {
        while let Some(wait) = self.take_token().await? {
            tokio::time::sleep(wait).await;
            leases.keep_entries().await?;
        }
        leases.renew(events).await
    }

    /// After a 429, holds every worker of the account.
    pub(super) async fn on_error(&self, e: &CrmError) -> Result<(), QueueError> {
        if let CrmError::RateLimited { retry_after, .. } = e {
            self.metrics.crm_429.inc();
            self.queue
                .rate_pause(&self.bucket, self.budget, *retry_after)
                .await?;
        }
        Ok(())
    }

    /// Creates the CRM's custom properties (and their group) syncline needs, each call
    /// within the shared budget like every other.
    pub async fn bootstrap(&self) -> Result<(), super::WorkerError> {
        for step in bootstrap_steps(&required_properties()) {
            self.admit().await?;
            let result = self.client.bootstrap_step(&step).await;
            self.follow_stated_limits().await?;
            if let Err(e) = result {
                self.on_error(&e).await?;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Writes each event's `CrmWrites`, skipping the upserts its `landed` record says
    /// reached HubSpot before; one outcome per event, in order, each with everything of
    /// the event that has landed by now (also when a later step failed). Before every
    /// call the leases of the events it serves are renewed; an event whose lease is lost
    /// sends nothing more and fails with `LeaseLost`.
    pub async fn write(
        &self,
        events: &[EventWrites<'_>],
        leases: &mut Leases<'_>,
    ) -> Result<Vec<EventOutcome>, QueueError> {
        let mut out: Vec<EventOutcome> = events
            .iter()
            .map(|e| EventOutcome {
                failure: None,
                landed: e.landed.clone(),
            })
            .collect();
        let mut ids: BTreeMap<Key, String> = BTreeMap::new();
        for event in events {
            ids.extend(event.landed.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let mut sources = Sources {
            events,
            product_links: BTreeMap::new(),
        };
        for object in ORDER {
            if object == HubspotObject::LineItems {
                sources.product_links = self.product_links(events, &out, &ids).await?;
            }
            let inputs = inputs::pending(events, &out, object);
            for chunk in inputs.chunks(MAX_BATCH) {
                self.count_retried(events, chunk.iter().map(|(_, o)| o.as_slice()), "upsert");
                let results = self
                    .upsert_bisecting(object, chunk.to_vec(), &sources, leases)
                    .await?;
                for (key, owners, result) in results {
                    match result {
                        Ok(id) => {
                            for &i in &owners {
                                out[i].landed.insert(object, key.clone(), id.clone());
                            }
                            ids.insert((object, key), id);
                        }
                        Err(f) => {
                            for &i in &owners {
                                out[i].failure.get_or_insert_with(|| f.clone());
                            }
                        }
                    }
                }
                fail_lost(leases, &mut out);
            }
        }
        self.associate(events, &ids, &mut out, leases).await?;
        fail_lost(leases, &mut out);
        Ok(out)
    }

    /// Counts inputs sent again on behalf of events being retried: the budget retries cost.
    fn count_retried<'a>(
        &self,
        events: &[EventWrites<'_>],
        owners: impl Iterator<Item = &'a [usize]>,
        call: &str,
    ) {
        let again = owners
            .filter(|o| o.iter().all(|&i| events[i].retry))
            .count();
        if again > 0 {
            self.metrics
                .retried_inputs
                .with_label_values(&[call])
                .inc_by(again as u64);
        }
    }

    /// One batch upsert of `inputs` (keys with the events wanting them); answers per input
    /// sent its HubSpot id or failure, with the owners it was sent for. Inputs whose every
    /// owner lost its lease are not sent. A whole batch refused as invalid is split in
    /// halves until the bad inputs stand alone, so one bad record never dead-letters its
    /// neighbours.
    fn upsert_bisecting<'s>(
        &'s self,
        object: HubspotObject,
        inputs: Vec<(String, Vec<usize>)>,
        sources: &'s Sources<'s>,
        leases: &'s mut Leases<'_>,
    ) -> BoxFuture<'s, Result<InputResults, QueueError>> {
        Box::pin(async move {
            self.admit_for(leases, inputs.iter().flat_map(|(_, o)| o.iter().copied()))
                .await?;
            let inputs: Vec<(String, Vec<usize>)> = inputs
                .into_iter()
                .filter_map(|(key, owners)| {
                    let live: Vec<usize> =
                        owners.into_iter().filter(|&i| !leases.is_lost(i)).collect();
                    (!live.is_empty()).then_some((key, live))
                })
                .collect();
            if inputs.is_empty() {
                return Ok(Vec::new());
            }
            let upserts: Vec<Upsert> = inputs
                .iter()
                .map(|(key, owners)| sources.input(object, key, owners))
                .collect();
            let started = Instant::now();
            let result = self.client.batch_upsert(object, &upserts).await;
            self.observe(object.path(), "upsert", started.elapsed(), &result);
            self.follow_stated_limits().await?;
            match result {
                Ok(outcome) => Ok(inputs
                    .into_iter()
                    .map(|(key, owners)| {
                        let answer = match outcome.ids.get(&key) {
                            Some(id) => Ok(id.clone()),
                            None => Err(inputs::input_failure(&outcome.failures, &key)),
                        };
                        (key, owners, answer)
                    })
                    .collect()),
                Err(e) => {
                    self.on_error(&e).await?;
                    let failure = WriteFailure::from_error(&e);
                    if matches!(failure.class, FailureClass::Permanent { .. }) && inputs.len() > 1 {
                        let mut left = inputs;
                        let right = left.split_off(left.len() / 2);
                        let mut answers =
                            self.upsert_bisecting(object, left, sources, leases).await?;
                        answers.extend(
                            self.upsert_bisecting(object, right, sources, leases)
                                .await?,
                        );
                        return Ok(answers);
                    }
                    Ok(inputs
                        .into_iter()
                        .map(|(key, owners)| (key, owners, Err(failure.clone())))
                        .collect())
                }
            }
        })
    }

    fn observe<T>(&self, object: &str, call: &str, took: Duration, result: &Result<T, CrmError>) {
        self.load.crm_call(took);
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .crm_latency
            .with_label_values(&[object, call, outcome])
            .observe(took.as_secs_f64());
    }
}

/// Fails every event whose lease was lost (keeping an earlier failure if it had one).
fn fail_lost(leases: &Leases<'_>, out: &mut [EventOutcome]) {
    for i in leases.lost() {
        if let Some(o) = out.get_mut(i) {
            o.failure.get_or_insert_with(lease_lost);
        }
    }
}
