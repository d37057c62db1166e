//! Failures `kubectl describe` must show, against a KWOK cluster and a real redis-server:
//! the API server refuses a name whose children could not be named, and a ResourceQuota that
//! refuses the Deployments gives `Ready=False` (`QuotaExceeded`, in the API server's words),
//! one Warning Event however often the reconcile is retried, and recovery by itself.

mod support;

use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::operator::OperatorProcess;
use support::pipelines::{NS, condition_of, create_with_secret, pipeline, setup, wait_condition};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::{SyncPipeline, condition};

#[tokio::test]
async fn refusals_show_in_ready_with_one_event_and_recover_by_themselves() {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);

    // A name over the limit is refused at admission, with the limit named.
    let long = "a".repeat(55);
    let err = pipelines
        .create(
            &PostParams::default(),
            &pipeline(&long, "creds", &redis.url(), "Retain"),
        )
        .await
        .expect_err("a 55-character name must be refused");
    assert!(err.to_string().contains("at most 54 characters"), "{err}");
    let longest = "a".repeat(54);
    pipelines
        .create(
            &PostParams::default(),
            &pipeline(&longest, "creds", &redis.url(), "Retain"),
        )
        .await
        .expect("a 54-character name is allowed");
    pipelines
        .delete(&longest, &DeleteParams::default())
        .await
        .unwrap();

    // A quota that allows no Deployment, counted by the real quota controller.
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), NS);
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "no-deployments", "namespace": NS},
        "spec": {"hard": {"count/deployments.apps": "0"}}
    }))
    .unwrap();
    quotas.create(&PostParams::default(), &quota).await.unwrap();
    eventually(60, "the quota controller to count the quota", || async {
        quotas
            .get("no-deployments")
            .await
            .ok()?
            .status?
            .hard
            .map(drop)
    })
    .await;

    let op = OperatorProcess::start(&cp.kubeconfig, "op-failures", &["--resync", "2s"]);
    create_with_secret(
        &client,
        "creds",
        &pipeline("capped", "creds", &redis.url(), "Retain"),
    )
    .await;
    let msg = wait_condition(
        &pipelines,
        "capped",
        condition::READY,
        "False",
        "QuotaExceeded",
    )
    .await;
    assert!(
        msg.contains("exceeded quota: no-deployments")
            && msg.contains("limited: count/deployments.apps=0"),
        "the API server's own words: {msg}"
    );

    // Retries (backing off) fail the same way: no new status, no new Event.
    let errors = op.metric("syncline_operator_reconcile_errors_total").await;
    eventually(60, "three more failed reconciles", || async {
        (op.metric("syncline_operator_reconcile_errors_total").await >= errors + 3.0).then_some(())
    })
    .await;
    let warnings: Vec<Event> = Api::<Event>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("QuotaExceeded"))
        .collect();
    let published: i32 = warnings
        .iter()
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum();
    assert_eq!(published, 1, "one Event per transition: {warnings:?}");
    assert_eq!(warnings[0].type_.as_deref(), Some("Warning"));
    let note = warnings[0].note.clone().unwrap_or_default();
    assert!(note.contains("exceeded quota"), "{note}");
    assert_eq!(
        condition_of(&pipelines, "capped", condition::READY)
            .await
            .map(|(_, r, _)| r),
        Some("QuotaExceeded".to_string())
    );

    // Lifting the quota: the next retry applies the Deployments and the pipeline is Ready.
    quotas
        .delete("no-deployments", &DeleteParams::default())
        .await
        .unwrap();
    eventually(300, "Ready=True after the quota is lifted", || async {
        let (status, reason, _) = condition_of(&pipelines, "capped", condition::READY).await?;
        (status == "True" && reason == "PipelineRunning").then_some(())
    })
    .await;
}
