//! Writes the CRM side of a batch: one batch upsert per object type (≤ 100 inputs per call,
//! inputs shared by several events merged), then the associations by the ids HubSpot
//! returned. Every call first takes a token from the account's shared budget. Failures are
//! traced back to the events they belong to, so one bad input fails only its own event.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::landed::Landed;
use super::metrics::WorkerMetrics;
use crate::connectors::crm::hubspot::client::bootstrap_steps;
use crate::connectors::crm::hubspot::mapping::{
    CrmWrites, HubspotObject, Upsert, required_properties,
};
use crate::connectors::crm::hubspot::{CrmError, FailureClass, HubspotClient, MAX_BATCH};
use crate::queue::{Queue, QueueError, RateBudget};

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
/// Per upsert input, in order: its key and its HubSpot id or why it failed.
type InputResults = Vec<(String, Result<String, WriteFailure>)>;
/// Associations to create: (from type, to type) → (from id, to id) → events needing it.
type Wanted = BTreeMap<(HubspotObject, HubspotObject), BTreeMap<(String, String), Vec<usize>>>;

/// The line item property that points at its product's HubSpot id.
const PRODUCT_ID_PROPERTY: &str = "hs_product_id";

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
        while let Some(wait) = self.queue.rate_take(&self.bucket, self.budget).await? {
            self.metrics.rate_wait.observe(wait.as_secs_f64());
            self.load.budget_wait(wait);
            tokio::time::sleep(wait).await;
        }
        Ok(())
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
    /// the event that has landed by now (also when a later step failed).
    pub async fn write(&self, events: &[EventWrites<'_>]) -> Result<Vec<EventOutcome>, QueueError> {
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
        let mut product_links = BTreeMap::new();
        for object in ORDER {
            if object == HubspotObject::LineItems {
                product_links = self.product_links(events, &out, &ids).await?;
            }
            let inputs = merge_inputs(events, &out, object, &product_links);
            for chunk in inputs.chunks(MAX_BATCH) {
                self.count_retried(events, chunk.iter().map(|(_, o)| o.as_slice()), "upsert");
                let upserts: Vec<Upsert> = chunk.iter().map(|(u, _)| u.clone()).collect();
                let results = self.upsert_bisecting(object, upserts).await?;
                for ((_, owners), (key, result)) in chunk.iter().zip(results) {
                    match result {
                        Ok(id) => {
                            for &i in owners {
                                out[i].landed.insert(object, key.clone(), id.clone());
                            }
                            ids.insert((object, key), id);
                        }
                        Err(f) => {
                            for &i in owners {
                                out[i].failure.get_or_insert_with(|| f.clone());
                            }
                        }
                    }
                }
            }
        }
        self.associate(events, &ids, &mut out).await?;
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

    /// One batch upsert; answers per input (same order) its HubSpot id or failure. A whole
    /// batch refused as invalid is split in halves until the bad inputs stand alone, so one
    /// bad record never dead-letters its neighbours.
    fn upsert_bisecting(
        &self,
        object: HubspotObject,
        inputs: Vec<Upsert>,
    ) -> BoxFuture<'_, Result<InputResults, QueueError>> {
        Box::pin(async move {
            self.admit().await?;
            let started = Instant::now();
            let result = self.client.batch_upsert(object, &inputs).await;
            self.observe(object.path(), "upsert", started.elapsed(), &result);
            self.follow_stated_limits().await?;
            match result {
                Ok(outcome) => Ok(inputs
                    .into_iter()
                    .map(|u| {
                        let answer = match outcome.ids.get(&u.key) {
                            Some(id) => Ok(id.clone()),
                            None => Err(input_failure(&outcome.failures, &u.key)),
                        };
                        (u.key, answer)
                    })
                    .collect()),
                Err(e) => {
                    self.on_error(&e).await?;
                    let failure = WriteFailure::from_error(&e);
                    if matches!(failure.class, FailureClass::Permanent { .. }) && inputs.len() > 1 {
                        let mut left = inputs;
                        let right = left.split_off(left.len() / 2);
                        let mut answers = self.upsert_bisecting(object, left).await?;
                        answers.extend(self.upsert_bisecting(object, right).await?);
                        return Ok(answers);
                    }
                    Ok(inputs
                        .into_iter()
                        .map(|u| (u.key, Err(failure.clone())))
                        .collect())
                }
            }
        })
    }

    /// Creates the associations of events whose upserts all succeeded (now or before).
    async fn associate(
        &self,
        events: &[EventWrites<'_>],
        ids: &BTreeMap<Key, String>,
        out: &mut [EventOutcome],
    ) -> Result<(), QueueError> {
        let mut wanted: Wanted = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            if out[i].failure.is_some() {
                continue;
            }
            for link in &event.writes.associations {
                match (ids.get(&link.from), ids.get(&link.to)) {
                    (Some(from), Some(to)) => wanted
                        .entry((link.from.0, link.to.0))
                        .or_default()
                        .entry((from.clone(), to.clone()))
                        .or_default()
                        .push(i),
                    _ => {
                        out[i].failure = Some(WriteFailure {
                            class: FailureClass::Transient,
                            message: "an associated object has no HubSpot id".into(),
                        });
                    }
                }
            }
        }
        for ((from, to), pairs) in wanted {
            let pairs: Vec<((String, String), Vec<usize>)> = pairs.into_iter().collect();
            for chunk in pairs.chunks(MAX_BATCH) {
                self.count_retried(events, chunk.iter().map(|(_, o)| o.as_slice()), "associate");
                let ask: Vec<(String, String)> = chunk.iter().map(|(p, _)| p.clone()).collect();
                self.admit().await?;
                let started = Instant::now();
                let result = self.client.associate(from, to, &ask).await;
                self.observe(from.path(), "associate", started.elapsed(), &result);
                self.follow_stated_limits().await?;
                let refused: BTreeSet<(String, String)> = match result {
                    Ok(refused) => refused.into_iter().collect(),
                    Err(e) => {
                        self.on_error(&e).await?;
                        let failure = WriteFailure::from_error(&e);
                        for (_, owners) in chunk {
                            for &i in owners {
                                out[i].failure.get_or_insert_with(|| failure.clone());
                            }
                        }
                        continue;
                    }
                };
                for (pair, owners) in chunk {
                    if refused.contains(pair) {
                        for &i in owners {
                            out[i].failure.get_or_insert_with(|| WriteFailure {
                                class: FailureClass::Transient,
                                message: format!(
                                    "HubSpot refused the {}→{} association",
                                    from.path(),
                                    to.path()
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
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

/// Inputs of type `object` from events still fine, minus what each event landed before,
/// merged by key (a later event's properties win), with the events sharing each input.
fn merge_inputs(
    events: &[EventWrites<'_>],
    out: &[EventOutcome],
    object: HubspotObject,
    product_links: &BTreeMap<String, String>,
) -> Vec<(Upsert, Vec<usize>)> {
    let mut merged: BTreeMap<String, (Upsert, Vec<usize>)> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        if out[i].failure.is_some() {
            continue;
        }
        let pending = event
            .writes
            .upserts
            .iter()
            .filter(|u| u.object == object && event.landed.get(object, &u.key).is_none());
        for u in pending {
            let mut u = u.clone();
            if let Some(product) = product_links.get(&u.key) {
                u.properties
                    .insert(PRODUCT_ID_PROPERTY.to_owned(), product.clone());
            }
            match merged.entry(u.key.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert((u, vec![i]));
                }
                Entry::Occupied(mut slot) => {
                    let (input, owners) = slot.get_mut();
                    input.properties.extend(u.properties.clone());
                    owners.push(i);
                }
            }
        }
    }
    merged.into_values().collect()
}

/// The failure HubSpot reported for one input of a 207, by category.
fn input_failure(
    failures: &[crate::connectors::crm::hubspot::InputFailure],
    key: &str,
) -> WriteFailure {
    match failures.iter().find(|f| f.key == key) {
        Some(f) if f.category == "MISSING_RESULT" => WriteFailure {
            class: FailureClass::Transient,
            message: f.message.clone(),
        },
        Some(f) => WriteFailure {
            class: FailureClass::Permanent {
                reason: "crm_rejected",
            },
            message: format!("{}: {}", f.category, f.message),
        },
        None => WriteFailure {
            class: FailureClass::Transient,
            message: "HubSpot returned no result for this input".into(),
        },
    }
}
