//! Which watch events are worth a reconcile.
//!
//! A pipeline coming up produces a burst of updates that change nothing reconcile acts
//! on: the Deployment controller moves `observedGeneration`, `updatedReplicas` and its
//! `Progressing` condition several times per rollout, a PodDisruptionBudget recounts its
//! healthy pods, and every status the operator writes comes back as an event on the
//! pipeline itself. Each one reconciled costs a full pass over the children; at thousands
//! of pipelines starting at once these were most of the operator's reconciles.
//!
//! So every watched kind has a fingerprint of what reconcile reads from it, and an event
//! reaches the controller only when the fingerprint moved. A deleted child always does:
//! it has to be put back.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Resource;
use kube::runtime::watcher;

use super::status::DeploymentView;
use crate::api::SyncPipeline;

fn hash<T: Hash + ?Sized>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// What an apply would have to undo: the spec's generation where the kind keeps one,
/// else any change at all (its resourceVersion).
pub fn spec_version<K: Resource>(obj: &K) -> u64 {
    let meta = obj.meta();
    match meta.generation {
        Some(g) if g > 0 => hash(&g),
        _ => hash(&meta.resource_version),
    }
}

/// A Deployment as reconcile reads it: its spec's generation and the view its condition
/// is computed from (rollout bookkeeping in its status is left out).
pub fn deployment(d: &Deployment) -> u64 {
    hash(&(spec_version(d), DeploymentView::of(d)))
}

/// A pipeline as reconcile reads it: its spec (generation), the annotations and labels
/// (replay requests, selectors), and whether it is being deleted. Its status is the
/// operator's own output, so a status write does not reconcile it again.
pub fn pipeline(p: &SyncPipeline) -> Option<u64> {
    let meta = p.meta();
    Some(hash(&(
        meta.generation,
        &meta.annotations,
        &meta.labels,
        meta.deletion_timestamp.is_some(),
        &meta.finalizers,
    )))
}

/// An object's identity across its updates (a recreated one, with a new uid, is new).
type Key = (Option<String>, Option<String>, Option<String>);

/// Remembers the last fingerprint of each object and lets an event through only when it
/// moved (or the object is new, or deleted).
pub struct Seen<K> {
    fingerprint: fn(&K) -> u64,
    last: HashMap<Key, u64>,
}

impl<K: Resource> Seen<K> {
    pub fn new(fingerprint: fn(&K) -> u64) -> Self {
        Self {
            fingerprint,
            last: HashMap::new(),
        }
    }

    fn key(obj: &K) -> Key {
        let meta = obj.meta();
        (meta.namespace.clone(), meta.name.clone(), meta.uid.clone())
    }

    /// The object to reconcile for, if this event changed anything reconcile reads.
    pub fn pass(&mut self, event: watcher::Event<K>) -> Option<K> {
        match event {
            watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) => {
                let print = (self.fingerprint)(&obj);
                let before = self.last.insert(Self::key(&obj), print);
                (before != Some(print)).then_some(obj)
            }
            watcher::Event::Delete(obj) => {
                self.last.remove(&Self::key(&obj));
                Some(obj)
            }
            watcher::Event::Init | watcher::Event::InitDone => None,
        }
    }
}

/// The watch's events reduced to the objects whose fingerprint moved.
pub fn changed<K, S>(
    events: S,
    fingerprint: fn(&K) -> u64,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource + Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let mut seen = Seen::new(fingerprint);
    events.filter_map(move |event| {
        futures::future::ready(match event {
            Ok(event) => seen.pass(event).map(Ok),
            Err(e) => Some(Err(e)),
        })
    })
}

#[cfg(test)]
mod tests;
