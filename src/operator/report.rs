//! Writing what reconcile found, or why it failed: the status by server-side apply under
//! the operator's field manager, and one Event per condition that flipped.
//!
//! Apply sends the whole status the operator computed; a field it owned and no longer sends
//! (e.g. `backfill` after `spec.polling.backfillSince` is removed) is removed by the API
//! server. A field left by a writer that is not this field manager (a status written by an
//! older operator with a merge patch) is cleared by a merge patch of nulls, so the stored
//! status ends up equal to the computed one and a steady pipeline writes nothing.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::{Map, Value};
use tracing::{info, warn};

use super::context::Context;
use super::error::ReconcileError;
use super::failure;
use super::resources::FIELD_MANAGER;
use super::status;
use crate::api::{SyncPipeline, SyncPipelineStatus};

/// Shows a failed reconcile in status (`Ready=False`, its reason, the API server's words)
/// and, when that is a transition, in one Warning Event; a retry that fails the same way
/// writes nothing. A status that cannot be written is logged: the error is counted anyway.
pub async fn report_failure(p: &SyncPipeline, ctx: &Context, err: &ReconcileError) {
    let failure = failure::classify(err);
    let new = failure::failed_status(
        p.status.as_ref(),
        p.metadata.generation,
        &failure,
        Time(Timestamp::now()),
    );
    if let Err(e) = write_status(p, ctx, &new).await {
        warn!(error = %e, reason = failure.reason.as_str(), "could not record the failure in status");
    }
}

/// How long a status this process wrote is taken as stored while the cache catches up.
const CACHE_LAG: std::time::Duration = std::time::Duration::from_secs(5);

/// The Event action of condition transitions.
const ACTION: &str = "Reconcile";

/// Applies the status when it differs from the stored one, then publishes an Event per
/// condition that flipped (never one per reconcile).
pub async fn write_status(
    p: &SyncPipeline,
    ctx: &Context,
    new: &SyncPipelineStatus,
) -> Result<(), ReconcileError> {
    let key = format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any());
    if p.status.as_ref() == Some(new) || ctx.wrote_status_lately(&key, new, CACHE_LAG) {
        return Ok(());
    }
    let api: Api<SyncPipeline> =
        Api::namespaced(ctx.client.clone(), &p.namespace().unwrap_or_default());
    let name = p.name_any();
    let body = serde_json::json!({
        "apiVersion": SyncPipeline::api_version(&()),
        "kind": SyncPipeline::kind(&()),
        "status": new,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let live = api
        .patch_status(&name, &params, &Patch::Apply(&body))
        .await
        .map_err(ReconcileError::Kube)?;
    count_write(ctx);
    let wanted = to_value(new)?;
    let stored = to_value(&live.status.unwrap_or_default())?;
    if let Some(nulls) = leftovers(&stored, &wanted) {
        let patch = serde_json::json!({ "status": nulls });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(ReconcileError::Kube)?;
        count_write(ctx);
    }

    ctx.remember_status(&key, new, CACHE_LAG);
    let regarding = p.object_ref(&());
    for c in status::transitions(p.status.as_ref(), new) {
        publish_transition(ctx, &regarding, &c).await;
    }
    Ok(())
}

fn count_write(ctx: &Context) {
    ctx.metrics
        .writes
        .with_label_values(&["SyncPipelineStatus"])
        .inc();
}

fn to_value(status: &SyncPipelineStatus) -> Result<Value, ReconcileError> {
    serde_json::to_value(status).map_err(|e| ReconcileError::Serialize(e.to_string()))
}

async fn publish_transition(
    ctx: &Context,
    regarding: &ObjectReference,
    c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition,
) {
    info!(condition = %c.type_, status = %c.status, reason = %c.reason, "{}", c.message);
    let type_ = if status::is_healthy(c) {
        EventType::Normal
    } else {
        EventType::Warning
    };
    let note = format!("{} is {}: {}", c.type_, c.status, c.message);
    ctx.publish_about(regarding, type_, &c.reason, note, ACTION)
        .await;
}

/// The merge patch (of nulls) that removes what `stored` has and `wanted` lacks, object
/// keys only, recursively; `None` when nothing is left over. Lists are replaced whole by
/// apply and never need it.
pub fn leftovers(stored: &Value, wanted: &Value) -> Option<Value> {
    let (Value::Object(stored), Value::Object(wanted)) = (stored, wanted) else {
        return None;
    };
    let mut patch = Map::new();
    for (key, value) in stored {
        match wanted.get(key) {
            None => {
                patch.insert(key.clone(), Value::Null);
            }
            Some(want) => {
                if let Some(inner) = leftovers(value, want) {
                    patch.insert(key.clone(), inner);
                }
            }
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leftovers_are_the_keys_only_the_stored_status_has() {
        let cases = [
            (json!({"a": 1}), json!({"a": 2}), None),
            (
                json!({"a": 1, "b": 2}),
                json!({"a": 1}),
                Some(json!({"b": null})),
            ),
            (
                json!({"q": {"lag": 1, "sampledAt": "t"}, "w": 1}),
                json!({"q": {"lag": 1}, "w": 1}),
                Some(json!({"q": {"sampledAt": null}})),
            ),
            (json!({"c": [{"x": 1}]}), json!({"c": [{"y": 1}]}), None),
            (json!({}), json!({"a": 1}), None),
            (json!({"a": 1}), json!(null), None),
        ];
        for (stored, wanted, expected) in cases {
            assert_eq!(
                leftovers(&stored, &wanted),
                expected,
                "{stored} vs {wanted}"
            );
        }
    }
}
