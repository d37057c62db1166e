//! Queue sampling, apart from reconciling. Redis is the one input of a pipeline no watch
//! covers, so the operator samples each pipeline's queue on its own clock: every
//! `--queue-sample-interval` while running, every 30 s while paused, one round trip each,
//! many at once (a Redis that is down delays only its own pipelines). A reconcile is asked
//! for only when the sample would change what a reconcile does: the workers' replicas, or
//! the status (whose queue figures move at most every `--queue-status-interval`). A steady
//! pipeline then costs one Redis round trip per interval and no reconcile at all, so the
//! operator's work follows change, not the number of pipelines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::Semaphore;

use super::context::Context;
use super::metrics::PipelineFigures;
use super::scaler::{self, Scaling};
use super::status::{self, Observed};
use crate::api::{SyncPipeline, SyncPipelineSpec, SyncPipelineStatus};
use crate::queue::QueueKeys;
use crate::queue::admin::{QueueSample, RedisTarget};

/// Samples in flight at once, across all pipelines.
const CONCURRENT_SAMPLES: usize = 64;
/// How often the loop looks for pipelines due a sample.
const TICK: Duration = Duration::from_millis(250);
/// How long an asked-for reconcile may take to report back before the sampler asks again
/// (a reconcile that failed is retried by the controller anyway).
const ASKED_FOR: Duration = Duration::from_secs(30);

/// What the last reconcile of a pipeline saw and decided: what a new sample is compared
/// with.
#[derive(Clone, Debug)]
pub struct Reconciled {
    pub spec: SyncPipelineSpec,
    /// What the reconcile observed (its queue sample with the CRM message cleaned).
    pub observed: Observed,
    /// The status it computed (and wrote, when it differed).
    pub status: SyncPipelineStatus,
    /// The CRM message as Redis holds it, before cleaning: a new one asks for a reconcile,
    /// which cleans it with the Secret's values (the sampler holds none).
    pub raw_unauthorized: Option<String>,
    pub target: RedisTarget,
    pub keys: QueueKeys,
    /// How often to sample this pipeline.
    pub every: Duration,
}

struct Watched {
    last: Arc<Reconciled>,
    due: Instant,
    in_flight: bool,
    /// When a reconcile was asked for and has not reported back yet.
    asked: Option<Instant>,
}

/// The pipelines being sampled, and the channel that asks the controller to reconcile one.
pub struct Sampler {
    watched: Mutex<HashMap<ObjectRef<SyncPipeline>, Watched>>,
    trigger: UnboundedSender<ObjectRef<SyncPipeline>>,
}

/// Whether a reconcile would do anything with `sample` (as Redis answered it; `None`:
/// Redis did not answer) that the last one did not: other replicas for the workers, or
/// another status.
pub fn changes(last: &Reconciled, sample: Option<&QueueSample>, now: Timestamp) -> bool {
    changes_with(last, sample.map(|s| (s, rescale(last, s, now))), now)
}

/// What the scaler decides with `sample` from the last reconcile's spec and stored workers
/// (the CRM message plays no part in it).
fn rescale(last: &Reconciled, sample: &QueueSample, now: Timestamp) -> Scaling {
    scaler::scale(
        &last.spec,
        last.status.workers.as_ref(),
        last.observed.paused,
        Some(sample),
        now,
    )
}

/// `changes`, with the scaler's decision for the sample already made.
fn changes_with(
    last: &Reconciled,
    sampled: Option<(&QueueSample, Scaling)>,
    now: Timestamp,
) -> bool {
    let Some((sample, scaling)) = sampled else {
        return last.observed.redis_error.is_none();
    };
    if sample.crm_unauthorized != last.raw_unauthorized {
        return true;
    }
    let mut sample = sample.clone();
    sample.crm_unauthorized = last
        .observed
        .queue
        .as_ref()
        .and_then(|q| q.crm_unauthorized.clone());
    if scaling.replicas() != last.observed.scaling.replicas() {
        return true;
    }
    let observed = Observed {
        queue: Some(sample),
        redis_error: None,
        replay: None,
        scaling,
        ..last.observed.clone()
    };
    status::compute(&observed, Some(&last.status), Time(now)) != last.status
}

impl Sampler {
    /// A sampler, and the stream of pipelines it wants reconciled (for the controller's
    /// `reconcile_on`).
    pub fn new() -> (Self, UnboundedReceiver<ObjectRef<SyncPipeline>>) {
        let (trigger, wanted) = unbounded();
        let sampler = Self {
            watched: Mutex::new(HashMap::new()),
            trigger,
        };
        (sampler, wanted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<SyncPipeline>, Watched>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by each reconcile that reached Redis (or tried to): the new base of
    /// comparison, the next sample one interval from now.
    pub fn reconciled(&self, pipeline: ObjectRef<SyncPipeline>, last: Reconciled) {
        let due = Instant::now() + last.every;
        let mut watched = self.lock();
        let in_flight = watched.get(&pipeline).is_some_and(|w| w.in_flight);
        watched.insert(
            pipeline,
            Watched {
                last: Arc::new(last),
                due,
                in_flight,
                asked: None,
            },
        );
    }

    /// Stops sampling a pipeline (deleted, or its Secret no longer resolves).
    pub fn forget(&self, pipeline: &ObjectRef<SyncPipeline>) {
        self.lock().remove(pipeline);
    }

    /// The pipelines due a sample now, marked in flight.
    fn due(&self, now: Instant) -> Vec<(ObjectRef<SyncPipeline>, Arc<Reconciled>)> {
        let mut watched = self.lock();
        watched
            .iter_mut()
            .filter(|(_, w)| !w.in_flight && w.due <= now)
            .filter(|(_, w)| w.asked.is_none_or(|at| now.duration_since(at) >= ASKED_FOR))
            .map(|(pipeline, w)| {
                w.in_flight = true;
                (pipeline.clone(), w.last.clone())
            })
            .collect()
    }

    /// After a sample: the next one in an interval, and whether a reconcile was asked for.
    fn sampled(&self, pipeline: &ObjectRef<SyncPipeline>, ask: bool) {
        let mut watched = self.lock();
        if let Some(w) = watched.get_mut(pipeline) {
            w.in_flight = false;
            w.due = Instant::now() + w.last.every;
            if ask {
                w.asked = Some(Instant::now());
            }
        }
        drop(watched);
        if ask {
            let _ = self.trigger.unbounded_send(pipeline.clone());
        }
    }
}

/// Samples every watched pipeline on its interval until the operator stops.
pub async fn run(ctx: Arc<Context>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_SAMPLES));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (pipeline, last) in ctx.sampler.due(Instant::now()) {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let ask = sample_one(&ctx, &pipeline, &last).await;
                ctx.sampler.sampled(&pipeline, ask);
            });
        }
    }
}

/// One sample: refreshes the pipeline's gauges and answers whether to reconcile it.
async fn sample_one(ctx: &Context, pipeline: &ObjectRef<SyncPipeline>, last: &Reconciled) -> bool {
    let timeout = ctx.settings.redis_timeout;
    let sample = ctx.redis.sample(&last.target, &last.keys, timeout).await;
    let now = Timestamp::now();
    let sampled = sample.as_ref().ok().map(|s| (s, rescale(last, s, now)));
    if let Some((sample, scaling)) = &sampled {
        let ns = pipeline.namespace.as_deref().unwrap_or_default();
        let figures = PipelineFigures::of(Some(sample), last.status.workers.as_ref(), scaling);
        ctx.metrics.pipelines.set(ns, &pipeline.name, &figures);
    }
    changes_with(last, sampled, now)
}

#[cfg(test)]
mod tests;
