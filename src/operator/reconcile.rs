//! One reconcile of one SyncPipeline: resolve → validate → build → apply → status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalized, finalizer};
use kube::runtime::reflector::ObjectRef;
use tracing::warn;

use super::cleanup::cleanup;
use super::context::{Context, Settings};
pub use super::error::ReconcileError;
use super::metrics::PipelineFigures;
use super::report::{report_failure, write_status};
use super::resources;
use super::sampler::Reconciled;
use super::secret;
use super::secret::redis_target;
use super::status::{self, Observed, SecretState};
use crate::api::{PipelineState, SyncPipeline, SyncPipelineStatus};
use crate::queue::QueueKeys;
use crate::queue::admin::{self, RedisTarget};

/// The finalizer that lets the operator clean Redis before a pipeline disappears.
pub const FINALIZER: &str = "syncline.dev/cleanup";

/// How often a paused pipeline's queue is sampled (only its status figures depend on it).
const PAUSED_SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// Entry point the controller calls.
pub async fn reconcile(p: Arc<SyncPipeline>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = p.namespace().unwrap_or_default();
    let span = tracing::info_span!("reconcile", namespace = %ns, name = %p.name_any());
    let _timer = ctx.metrics.duration.start_timer();
    ctx.metrics.reconciles.inc();
    let api: Api<SyncPipeline> = Api::namespaced(ctx.client.clone(), &ns);
    let key = format!("{ns}/{}", p.name_any());
    let ctx2 = ctx.clone();
    let result = tracing::Instrument::instrument(
        finalizer(&api, FINALIZER, p, |event| async move {
            match event {
                Finalized::Apply(p) => {
                    let applied = apply_pipeline(&p, &ctx2).await;
                    if let Err(e) = &applied {
                        report_failure(&p, &ctx2, e).await;
                    }
                    applied
                }
                Finalized::Cleanup(p) => {
                    let ns = p.namespace().unwrap_or_default();
                    ctx2.metrics.pipelines.forget(&ns, &p.name_any());
                    ctx2.forget_status(&format!("{ns}/{}", p.name_any()));
                    ctx2.sampler.forget(&ObjectRef::from_obj(&*p));
                    cleanup(&p, &ctx2).await
                }
            }
        }),
        span,
    )
    .await;
    match result {
        Ok(action) => {
            ctx.reset_backoff(&key);
            Ok(action)
        }
        Err(
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e),
        ) => Err(e),
        Err(e) => Err(ReconcileError::Finalizer(e.to_string())),
    }
}

/// Error policy: count, log, and retry with a per-pipeline exponential backoff.
pub fn error_policy(p: Arc<SyncPipeline>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any());
    ctx.metrics
        .errors
        .with_label_values(&[err.metric_label()])
        .inc();
    let delay = ctx.next_backoff(&key);
    warn!(namespace = %p.namespace().unwrap_or_default(), name = %p.name_any(), error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// What resolving the Secret found, with the data when it resolved.
async fn resolve_secret(
    p: &SyncPipeline,
    ctx: &Context,
    ns: &str,
) -> Result<(SecretState, Option<Secret>), ReconcileError> {
    let name = p.spec.secret_ref.name.clone();
    let api = Api::<Secret>::namespaced(ctx.client.clone(), ns);
    let secret = ctx
        .caches
        .secret(&api, ns, &name)
        .await
        .map_err(ReconcileError::Kube)?;
    let Some(secret) = secret else {
        return Ok((SecretState::NotFound { name }, None));
    };
    let data = secret.data.clone().unwrap_or_default();
    Ok(match secret::first_missing_key(&p.spec, &data) {
        Some(key) => (SecretState::KeyMissing { name, key }, None),
        None => (SecretState::Resolved, Some(secret)),
    })
}

async fn apply_pipeline(p: &SyncPipeline, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = p.namespace().unwrap_or_default();
    let name = p.name_any();

    // Resolve and validate what the spec refers to; read the queue (which also proves
    // Redis reachable) and carry out a requested dead-letter replay.
    let (secret_state, secret) = resolve_secret(p, ctx, &ns).await?;
    let redis = match &secret {
        Some(secret) => Some(observe_redis(p, ctx, secret).await),
        None => None,
    };
    let (queue, redis_error, replay) = match &redis {
        Some(r) => (r.sample.clone(), r.error.clone(), r.replay.clone()),
        None => (None, None, None),
    };
    let paused = p.spec.state == PipelineState::Paused;
    // Workers from the queue lag and the CRM budget (pure; the pending scale-down is in
    // status, so a new leader continues it).
    let stored_workers = p.status.as_ref().and_then(|s| s.workers.as_ref());
    let scaling = super::scaler::scale(
        &p.spec,
        stored_workers,
        paused,
        queue.as_ref(),
        Timestamp::now(),
    );

    let (receiver, workers) =
        super::children::apply_children(p, ctx, secret.as_ref(), scaling.replicas()).await?;

    // Status.
    let observed = Observed {
        generation: p.metadata.generation,
        secret: secret_state,
        redis_error,
        receiver,
        workers,
        paused,
        webhook_url: Some(resources::webhook_url(p)?),
        queue,
        scaling,
        backfill_objects: p
            .spec
            .polling
            .backfill_since
            .is_some()
            .then(|| p.spec.backfilled_objects()),
        queue_write_every: ctx.settings.queue_status_interval,
        replay,
        declared_rate: p.spec.crm_rate_limit.clone(),
    };
    let new_status = status::compute(&observed, p.status.as_ref(), Time(Timestamp::now()));
    ctx.metrics.pipelines.set(
        &ns,
        &name,
        &PipelineFigures::of(
            observed.queue.as_ref(),
            new_status.workers.as_ref(),
            &observed.scaling,
        ),
    );
    announce_scaling(p, ctx, stored_workers, &observed.scaling).await;
    write_status(p, ctx, &new_status).await?;

    let status_now = new_status.clone();
    hand_to_sampler(p, ctx, redis, observed, status_now, paused);
    let ready = new_status
        .conditions
        .iter()
        .any(|c| c.type_ == crate::api::condition::READY && c.status == "True");
    Ok(Action::requeue(requeue_after(&ctx.settings, ready, paused)))
}

/// From here on the sampler watches the queue and asks for the next reconcile when a
/// sample would change something; without a resolved Secret there is no queue to watch.
fn hand_to_sampler(
    p: &SyncPipeline,
    ctx: &Context,
    redis: Option<RedisObservation>,
    observed: Observed,
    status: SyncPipelineStatus,
    paused: bool,
) {
    let pipeline = ObjectRef::from_obj(p);
    match redis {
        Some(redis) => ctx.sampler.reconciled(
            pipeline,
            Reconciled {
                spec: p.spec.clone(),
                observed,
                status,
                raw_unauthorized: redis.raw_unauthorized,
                target: redis.target,
                keys: redis.keys,
                every: sample_every(&ctx.settings, paused),
            },
        ),
        None => ctx.sampler.forget(&pipeline),
    }
}

/// When to look again regardless of change: a pipeline not Ready within 30 s at most. The
/// queue is not a reason: the sampler asks for a reconcile when a sample changes anything.
fn requeue_after(settings: &Settings, ready: bool, paused: bool) -> Duration {
    if ready || paused {
        settings.resync
    } else {
        settings.resync.min(Duration::from_secs(30))
    }
}

/// How often the sampler reads a pipeline's queue: a running one's sample must stay fresh
/// for the scaler; a paused one runs no workers, so its figures may age.
fn sample_every(settings: &Settings, paused: bool) -> Duration {
    if paused {
        settings.queue_sample_interval.max(PAUSED_SAMPLE_EVERY)
    } else {
        settings.queue_sample_interval
    }
}

/// One Event per change of the workers' replicas, with the lag and the reason, so
/// `kubectl describe` and `kubectl get events` show the scaler's history.
async fn announce_scaling(
    p: &SyncPipeline,
    ctx: &Context,
    stored: Option<&crate::api::WorkersStatus>,
    scaling: &super::scaler::Scaling,
) {
    let Some(from) = stored.map(|w| w.desired_replicas) else {
        return;
    };
    if let Some((reason, note)) = super::scaler::scale_event(from, scaling) {
        ctx.publish(p, EventType::Normal, reason, note, "Scale")
            .await;
    }
}

/// What reading the pipeline's Redis found.
struct RedisObservation {
    target: RedisTarget,
    keys: QueueKeys,
    /// The sample, its CRM message cleaned of secret values.
    sample: Option<admin::QueueSample>,
    /// The CRM message as Redis holds it (what the sampler compares).
    raw_unauthorized: Option<String>,
    /// Why Redis could not be read.
    error: Option<String>,
    replay: Option<crate::api::DeadLetterReplayStatus>,
}

/// Samples the queue (one round trip, which doubles as the reachability check) and, when
/// Redis answers, carries out a requested dead-letter replay.
async fn observe_redis(p: &SyncPipeline, ctx: &Context, secret: &Secret) -> RedisObservation {
    let target = redis_target(p, Some(secret));
    let keys = QueueKeys::new(&p.namespace().unwrap_or_default(), &p.name_any());
    let timeout = ctx.settings.redis_timeout;
    let mut seen = RedisObservation {
        sample: None,
        raw_unauthorized: None,
        error: None,
        replay: None,
        target,
        keys,
    };
    let sample = match ctx.redis.sample(&seen.target, &seen.keys, timeout).await {
        Ok(sample) => sample,
        Err(e) => {
            seen.error = Some(e.to_string());
            return seen;
        }
    };
    seen.replay = super::replay::replay_if_requested(p, ctx, &seen.target).await;
    // A replay moved entries between streams: report the figures after it.
    let mut sample = match seen.replay {
        Some(_) => ctx
            .redis
            .sample(&seen.target, &seen.keys, timeout)
            .await
            .unwrap_or(sample),
        None => sample,
    };
    let values: Vec<String> = secret
        .data
        .iter()
        .flat_map(|d| d.values())
        .filter_map(|v| String::from_utf8(v.0.clone()).ok())
        .collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    seen.raw_unauthorized = sample.crm_unauthorized.clone();
    sample.crm_unauthorized = sample
        .crm_unauthorized
        .map(|raw| status::crm_message(&raw, &values));
    seen.sample = Some(sample);
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_is_looked_at_again_as_soon_as_its_state_needs() {
        let settings = Settings {
            resync: Duration::from_secs(300),
            queue_sample_interval: Duration::from_secs(5),
            ..Settings::default()
        };
        for ((ready, paused), requeue, sample) in [
            ((true, false), 300, 5), // running: the sampler keeps the scaler's input fresh
            ((false, false), 30, 5), // not Ready yet: looked at within 30 s
            ((true, true), 300, 30), // paused: figures may age to 30 s
            ((false, true), 300, 30), // paused and not Ready: nothing runs to wait for
        ] {
            assert_eq!(
                requeue_after(&settings, ready, paused),
                Duration::from_secs(requeue),
                "requeue, ready {ready} paused {paused}"
            );
            assert_eq!(
                sample_every(&settings, paused),
                Duration::from_secs(sample),
                "sampling, paused {paused}"
            );
        }
    }
}
