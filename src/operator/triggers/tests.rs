//! The fingerprints, table-tested against the updates a pipeline's children really get,
//! and `Seen` against a watch's event sequence.

use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};

use super::*;
use crate::api::examples;

fn deployment_with(generation: i64, status: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "shop-workers", "namespace": "shops", "uid": "u1",
                     "generation": generation, "resourceVersion": "7"},
        "spec": {"replicas": 2, "selector": {}, "template": {}},
        "status": status,
    }))
    .unwrap()
}

fn rolling() -> Value {
    json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
           "availableReplicas": 1,
           "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})
}

#[test]
fn a_deployment_reconciles_only_for_what_its_condition_reads() {
    let before = deployment(&deployment_with(1, rolling()));
    let mut bookkeeping = rolling();
    bookkeeping["observedGeneration"] = json!(2);
    bookkeeping["updatedReplicas"] = json!(2);
    bookkeeping["conditions"][0]["reason"] = json!("NewReplicaSetAvailable");
    let mut more_ready = rolling();
    more_ready["readyReplicas"] = json!(2);
    let mut refused = rolling();
    refused["conditions"] = json!([{"type": "ReplicaFailure", "status": "True",
        "reason": "FailedCreate", "message": "exceeded quota"}]);
    let cases = [
        (
            "rollout bookkeeping",
            deployment_with(1, bookkeeping),
            false,
        ),
        ("a pod became ready", deployment_with(1, more_ready), true),
        ("pods refused", deployment_with(1, refused), true),
        (
            "someone edited the spec",
            deployment_with(2, rolling()),
            true,
        ),
    ];
    for (what, d, moved) in cases {
        assert_eq!(deployment(&d) != before, moved, "{what}");
    }
}

#[test]
fn a_kind_without_generation_reconciles_on_any_change() {
    let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
    cm.metadata.resource_version = Some("1".into());
    let first = spec_version(&cm);
    cm.metadata.resource_version = Some("2".into());
    assert_ne!(spec_version(&cm), first);
}

#[test]
fn a_pipeline_status_write_does_not_reconcile_it_again() {
    let mut p = examples::pipeline("shopify.yaml");
    p.metadata.generation = Some(3);
    let before = pipeline(&p);
    p.status = Some(Default::default());
    assert_eq!(pipeline(&p), before, "status written by the operator");
    p.metadata.resource_version = Some("99".into());
    assert_eq!(pipeline(&p), before, "only the resourceVersion moved");

    let mut annotated = p.clone();
    annotated
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(
            crate::operator::replay::REPLAY_ANNOTATION.into(),
            "1".into(),
        );
    let mut deleting = p.clone();
    deleting.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
    let mut edited = p.clone();
    edited.metadata.generation = Some(4);
    for (what, changed) in [
        ("annotated", annotated),
        ("deleting", deleting),
        ("spec edited", edited),
    ] {
        assert_ne!(pipeline(&changed), before, "{what}");
    }
}

#[test]
fn seen_passes_new_moved_and_deleted_objects_only() {
    let mut seen = Seen::new(deployment);
    let d = deployment_with(1, rolling());
    let mut bookkeeping = rolling();
    bookkeeping["observedGeneration"] = json!(2);
    let quiet = deployment_with(1, bookkeeping);
    let mut more_ready = rolling();
    more_ready["readyReplicas"] = json!(2);
    let ready = deployment_with(1, more_ready);

    let passed: Vec<bool> = [
        Event::Init,
        Event::InitApply(d.clone()),
        Event::InitDone,
        Event::Apply(quiet.clone()),
        Event::Apply(ready.clone()),
        Event::Apply(ready.clone()),
        Event::Delete(ready.clone()),
        Event::Apply(d.clone()),
    ]
    .into_iter()
    .map(|e| seen.pass(e).is_some())
    .collect();
    assert_eq!(
        passed,
        [false, true, false, false, true, false, true, true],
        "init markers never; first sight, a moved view and a delete always; a recreated one again"
    );
}
