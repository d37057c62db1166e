//! How the operator writes status, against the real kube-apiserver and a real redis-server:
//! by server-side apply, so a field that should vanish does, and a steady pipeline then
//! writes nothing.

mod support;

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use support::operator::OperatorProcess;
use support::pipelines::{NS, create_with_secret, pipeline, setup};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::SyncPipeline;

#[tokio::test]
async fn removing_backfill_since_removes_status_backfill_then_status_stays_unwritten() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let op = OperatorProcess::start(&cp.kubeconfig, "op-status", &["--resync", "1s"]);
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let mut p = pipeline("history", "creds", &redis.url(), "Retain");
    p.spec.polling.backfill_since = Some("2026-01-01T00:00:00Z".into());
    create_with_secret(&client, "creds", &p).await;
    eventually(60, "status.backfill written", || async {
        pipelines.get("history").await.ok()?.status?.backfill
    })
    .await;

    let drop_backfill = json!({"spec": {"polling": {"backfillSince": null}}});
    pipelines
        .patch(
            "history",
            &PatchParams::default(),
            &Patch::Merge(&drop_backfill),
        )
        .await
        .unwrap();
    let generation = pipelines.get("history").await.unwrap().metadata.generation;
    eventually(60, "status.backfill removed", || async {
        let status = pipelines.get("history").await.ok()?.status?;
        (status.observed_generation == generation && status.backfill.is_none()).then_some(())
    })
    .await;

    // Steady: several resyncs (every second) run and the pipeline is not written again.
    let before = pipelines.get("history").await.unwrap();
    let writes = op.metric("syncline_operator_writes_total").await;
    let reconciles = op.metric("syncline_operator_reconciles_total").await;
    eventually(60, "five more reconciles", || async {
        (op.metric("syncline_operator_reconciles_total").await >= reconciles + 5.0).then_some(())
    })
    .await;
    let after = pipelines.get("history").await.unwrap();
    assert_eq!(
        after.resource_version(),
        before.resource_version(),
        "a steady pipeline's status was written again: {:?} then {:?}",
        before.status,
        after.status
    );
    assert_eq!(
        op.metric("syncline_operator_writes_total").await,
        writes,
        "a steady pipeline sent writes"
    );
    let managers: Vec<_> = after
        .managed_fields()
        .iter()
        .filter(|m| m.subresource.as_deref() == Some("status"))
        .map(|m| (m.manager.clone(), m.operation.clone()))
        .collect();
    assert_eq!(
        managers,
        [(
            Some("syncline-operator".to_string()),
            Some("Apply".to_string())
        )],
        "status is owned by the operator's field manager through apply alone"
    );
}
