//! What every reconcile shares: the client, settings, metrics, the event recorder, and
//! small memories — what was last applied (so a steady state sends no writes), how often
//! each pipeline has failed in a row (so errors back off instead of hot-looping), and which
//! dead-letter replay token was last carried out (so one token never replays twice).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tracing::warn;

use crate::api::SyncPipeline;

use super::metrics::Metrics;

/// Operator settings, from flags.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Image of the receiver and worker pods.
    pub image: String,
    /// How long a Redis check or cleanup call may take.
    pub redis_timeout: Duration,
    /// How long a deleting pipeline's Redis cleanup is retried before giving up.
    pub cleanup_timeout: Duration,
    /// Requeue interval of a pipeline nothing changed (the sampler and the watches
    /// reconcile a changed one at once).
    pub resync: Duration,
    /// How often the sampler reads a running pipeline's queue (and so how fast its workers
    /// are rescaled).
    pub queue_sample_interval: Duration,
    /// At most how often changed queue figures are written to `status.queue`.
    pub queue_status_interval: Duration,
    /// How many pipelines are reconciled at once.
    pub concurrency: u16,
    /// Whether each pipeline gets NetworkPolicies for its receiver and worker pods.
    pub network_policies: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            image: format!("ghcr.io/syncline/syncline:{}", env!("CARGO_PKG_VERSION")),
            redis_timeout: Duration::from_secs(2),
            cleanup_timeout: Duration::from_secs(120),
            resync: Duration::from_secs(300),
            queue_sample_interval: Duration::from_secs(5),
            queue_status_interval: Duration::from_secs(10),
            concurrency: 32,
            network_policies: true,
        }
    }
}

/// Shared state of the controller.
pub struct Context {
    pub client: kube::Client,
    pub settings: Settings,
    pub metrics: Metrics,
    pub recorder: Recorder,
    /// What the watches hold: children and Secret metadata (reads come from here).
    pub caches: super::caches::Caches,
    /// One connection per Redis, shared by the queue samples of every pipeline.
    pub redis: super::redis_pool::RedisPool,
    /// The pipelines whose queues are sampled between reconciles.
    pub sampler: super::sampler::Sampler,
    /// What the pods of unavailable Deployments said lately.
    pub pod_reasons: PodReasons,
    applied: Mutex<HashMap<String, (u64, String)>>,
    failures: Mutex<HashMap<String, u32>>,
    replays: Mutex<HashMap<String, String>>,
    statuses: Mutex<HashMap<String, (crate::api::SyncPipelineStatus, std::time::Instant)>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        settings: Settings,
        metrics: Metrics,
        instance: String,
        caches: super::caches::Caches,
        sampler: super::sampler::Sampler,
    ) -> Self {
        let reporter = Reporter {
            controller: "syncline-operator".into(),
            instance: Some(instance),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            caches,
            redis: Default::default(),
            sampler,
            pod_reasons: PodReasons::default(),
            client,
            settings,
            metrics,
            applied: Mutex::default(),
            failures: Mutex::default(),
            replays: Mutex::default(),
            statuses: Mutex::default(),
        }
    }

    /// Publishes an Event about `p`; a failure is logged, never fatal (Events are advice).
    pub async fn publish(
        &self,
        p: &SyncPipeline,
        type_: EventType,
        reason: &str,
        note: String,
        action: &str,
    ) {
        self.publish_about(&p.object_ref(&()), type_, reason, note, action)
            .await;
    }

    /// Publishes an Event about the object `regarding`; a failure is logged, never fatal.
    pub async fn publish_about(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
        action: &str,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, regarding).await {
            warn!(error = %e, "could not publish an Event");
        }
    }

    /// Whether `key` was last applied with `hash` and still has resourceVersion `rv`.
    pub fn is_applied(&self, key: &str, hash: u64, rv: Option<&str>) -> bool {
        let applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        matches!((applied.get(key), rv), (Some((h, r)), Some(rv)) if *h == hash && r == rv)
    }

    pub fn remember_applied(&self, key: String, hash: u64, rv: Option<String>) {
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        match rv {
            Some(rv) => applied.insert(key, (hash, rv)),
            None => applied.remove(&key),
        };
    }

    pub fn forget_applied(&self, key: &str) {
        self.applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The dead-letter replay token last carried out for pipeline `key` by this process.
    /// Status records it too, but the controller's cache may not show that status write
    /// yet when the next reconcile runs; this memory closes that window.
    pub fn replayed_token(&self, key: &str) -> Option<String> {
        self.replays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    pub fn remember_replay(&self, key: &str, token: &str) {
        self.replays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), token.to_string());
    }

    /// Whether `status` is what this process wrote for pipeline `key` within the last
    /// `within`. The controller's cache may not show a status write yet when the next
    /// reconcile runs; without this memory that reconcile would send the same status again.
    /// The memory is short so a status someone else changed is corrected soon after.
    pub fn wrote_status_lately(
        &self,
        key: &str,
        status: &crate::api::SyncPipelineStatus,
        within: Duration,
    ) -> bool {
        self.statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .is_some_and(|(s, at)| s == status && at.elapsed() < within)
    }

    pub fn forget_status(&self, key: &str) {
        self.statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Remembers `status` as written for `key` now, and lets go of what was written longer
    /// than `within` ago: past that it is no longer consulted, and kept it would be one more
    /// copy of every pipeline's status.
    pub fn remember_status(
        &self,
        key: &str,
        status: &crate::api::SyncPipelineStatus,
        within: Duration,
    ) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.retain(|_, (_, at)| at.elapsed() < within);
        statuses.insert(key.to_string(), (status.clone(), std::time::Instant::now()));
    }

    /// Counts one more failure in a row and returns the delay before the next try:
    /// 2 s doubling to at most 5 minutes.
    pub fn next_backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        backoff(*n)
    }

    pub fn reset_backoff(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Delay after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    let secs = 2u64.saturating_mul(1u64 << failures.saturating_sub(1).min(16));
    Duration::from_secs(secs.min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let delays: Vec<u64> = (1..=10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX).as_secs(), 300);
    }
}

/// How long the pods' reason for an unavailable Deployment is reused before they are listed
/// again: a reason found changes slowly; pods that gave none may be about to (a pull that
/// fails a few seconds after scheduling), so that is looked at again sooner.
pub const POD_REASONS_EVERY: Duration = Duration::from_secs(30);
pub const NO_POD_REASON_EVERY: Duration = Duration::from_secs(10);

/// The reason the pods of each unavailable Deployment gave (`None`: none of theirs), and
/// when they were listed, by `namespace/name`.
#[derive(Default)]
pub struct PodReasons(Mutex<HashMap<String, (std::time::Instant, Option<String>)>>);

impl PodReasons {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (std::time::Instant, Option<String>)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the pods said when listed recently enough to reuse, if they were.
    pub fn recent(&self, key: &str) -> Option<Option<String>> {
        self.lock()
            .get(key)
            .filter(|(at, trouble)| {
                let every = if trouble.is_some() {
                    POD_REASONS_EVERY
                } else {
                    NO_POD_REASON_EVERY
                };
                at.elapsed() < every
            })
            .map(|(_, trouble)| trouble.clone())
    }

    pub fn remember(&self, key: String, trouble: Option<String>) {
        self.lock()
            .insert(key, (std::time::Instant::now(), trouble));
    }

    /// The Deployment is available again (or gone): next time it is not, list at once.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}
