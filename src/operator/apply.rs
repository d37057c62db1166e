//! Server-side apply under one field manager, skipped when nothing changed.
//!
//! What is live is read from the controller's watch of the child kind, never by a GET.
//! A steady pipeline must cost the API server no writes. The operator remembers, per
//! child, a hash of what it last applied and the child's version right after: its
//! `metadata.generation` where the kind has one (Deployments, PodDisruptionBudgets: it
//! moves on spec changes, not status updates), else its resourceVersion. When both still
//! match, the apply is not sent. A manual edit of the spec moves the version, so the next
//! reconcile re-applies and undoes the drift.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;

use super::caches::Cached;
use super::context::Context;
use super::error::ReconcileError;
use super::resources::FIELD_MANAGER;

fn key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// The version that moves when someone else changes what we applied.
fn version<K: Resource>(obj: &K) -> Option<String> {
    match obj.meta().generation {
        Some(g) if g > 0 => Some(format!("generation {g}")),
        _ => obj.meta().resource_version.clone(),
    }
}

fn hash_of<K: Serialize>(obj: &K) -> Result<u64, ReconcileError> {
    let json = serde_json::to_string(obj).map_err(|e| ReconcileError::Serialize(e.to_string()))?;
    let mut h = DefaultHasher::new();
    json.hash(&mut h);
    Ok(h.finish())
}

/// Applies `desired` unless the watched object is exactly what the last apply left;
/// returns the live object either way. Reads come from the watch (see caches), not a GET.
pub async fn apply<K>(ctx: &Context, desired: &K) -> Result<K, ReconcileError>
where
    K: Cached + Serialize,
    K: Resource<Scope = kube::core::NamespaceResourceScope>,
{
    let ns = desired.namespace().unwrap_or_default();
    let name = desired.name_any();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let key = key(desired);
    let hash = hash_of(desired)?;
    if let Some(live) = ctx
        .caches
        .child(&api, &ns, &name)
        .await
        .map_err(ReconcileError::Kube)?
        && ctx.is_applied(&key, hash, version(&live).as_deref())
    {
        return Ok(live);
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let live = api
        .patch(&name, &params, &Patch::Apply(desired))
        .await
        .map_err(ReconcileError::Kube)?;
    ctx.metrics
        .writes
        .with_label_values(&[K::kind(&()).as_ref()])
        .inc();
    ctx.remember_applied(key, hash, version(&live));
    Ok(live)
}

/// Deletes a child the pipeline no longer wants (e.g. the PodDisruptionBudget when the
/// receiver drops to one replica); absent is fine.
pub async fn delete_if_present<K>(ctx: &Context, ns: &str, name: &str) -> Result<(), ReconcileError>
where
    K: Cached + Resource<Scope = kube::core::NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), ns);
    if ctx
        .caches
        .child(&api, ns, name)
        .await
        .map_err(ReconcileError::Kube)?
        .is_none()
    {
        return Ok(());
    }
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {
            ctx.metrics
                .writes
                .with_label_values(&[K::kind(&()).as_ref()])
                .inc();
            ctx.forget_applied(&format!("{}/{ns}/{name}", K::kind(&())));
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(ReconcileError::Kube(e)),
    }
}
