//! Deleting a pipeline: with `deletionPolicy: Delete`, remove its Redis keys first; with
//! `Retain`, leave them. Children go through ownerReference garbage collection.
//!
//! A finalizer must never block deletion forever: when Redis cannot be reached, cleanup is
//! retried (with the error policy's backoff) until `cleanup_timeout` after the deletion
//! was requested, then abandoned with a Warning Event that says so.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use tracing::{info, warn};

use super::context::Context;
use super::error::ReconcileError;
use super::secret::redis_target;
use crate::api::{DeletionPolicy, SyncPipeline};
use crate::queue::admin;

/// Whether a cleanup that started at `deleted_at` may still be retried at `now`.
pub fn within_deadline(deleted_at: Option<Timestamp>, now: Timestamp, timeout: Duration) -> bool {
    match deleted_at {
        Some(t) => now.duration_since(t).unsigned_abs() < timeout,
        None => true,
    }
}

async fn event(ctx: &Context, p: &SyncPipeline, type_: EventType, reason: &str, note: String) {
    ctx.publish(p, type_, reason, note, "Cleanup").await;
}

pub async fn cleanup(p: &SyncPipeline, ctx: &Context) -> Result<Action, ReconcileError> {
    if p.spec.deletion_policy == DeletionPolicy::Retain {
        info!("deletionPolicy Retain: Redis keys kept");
        return Ok(Action::await_change());
    }
    let ns = p.namespace().unwrap_or_default();
    let name = p.name_any();
    let secret =
        kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(ctx.client.clone(), &ns)
            .get_opt(&p.spec.secret_ref.name)
            .await
            .ok()
            .flatten();
    let target = redis_target(p, secret.as_ref());
    match admin::delete_pipeline_keys(&target, &ns, &name, ctx.settings.redis_timeout).await {
        Ok(n) => {
            info!(keys = n, "deletionPolicy Delete: Redis keys removed");
            event(
                ctx,
                p,
                EventType::Normal,
                "RedisKeysDeleted",
                format!("removed {n} Redis keys of this pipeline"),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(e) => {
            let deleted_at = p.meta().deletion_timestamp.as_ref().map(|t| t.0);
            if within_deadline(deleted_at, Timestamp::now(), ctx.settings.cleanup_timeout) {
                Err(ReconcileError::Cleanup(e))
            } else {
                warn!(error = %e, "giving up on Redis cleanup; the pipeline's keys remain");
                event(
                    ctx,
                    p,
                    EventType::Warning,
                    "RedisCleanupAbandoned",
                    format!(
                        "could not remove this pipeline's Redis keys within {:?} ({e}); deletion proceeds and the keys remain",
                        ctx.settings.cleanup_timeout
                    ),
                )
                .await;
                Ok(Action::await_change())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_is_retried_only_until_the_deadline() {
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let limit = Duration::from_secs(120);
        assert!(within_deadline(Some(t0), t0, limit));
        assert!(within_deadline(
            Some(t0),
            Timestamp::from_second(1_800_000_119).unwrap(),
            limit
        ));
        assert!(!within_deadline(
            Some(t0),
            Timestamp::from_second(1_800_000_120).unwrap(),
            limit
        ));
        assert!(within_deadline(None, t0, limit));
    }
}
