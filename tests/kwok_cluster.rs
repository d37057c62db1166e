//! The KWOK test cluster does what later operator tests rely on: a Deployment gets ready
//! Pods on the fake node, and deleting an owner garbage-collects what it owns.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;
use support::{ControlPlane, Mode};

#[tokio::test]
async fn deployments_become_available_and_are_garbage_collected() {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = cp.client().await;

    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes.get("kwok-node-0").await.unwrap();
    let ready = node.status.unwrap().conditions.unwrap_or_default();
    assert!(
        ready
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        "{ready:?}"
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "probe"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/probe:1"}]}
            }
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let available = await_condition(deployments.clone(), "probe", |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.available_replicas)
            == Some(2)
    });
    tokio::time::timeout(Duration::from_secs(60), available)
        .await
        .expect("Deployment not available within 60 s")
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let running = pods
        .list(&ListParams::default().labels("app=probe"))
        .await
        .unwrap();
    assert_eq!(running.items.len(), 2);
    for pod in &running.items {
        assert_eq!(
            pod.spec.as_ref().unwrap().node_name.as_deref(),
            Some("kwok-node-0")
        );
    }

    // Background deletion: the garbage collector must remove ReplicaSet and Pods.
    deployments
        .delete("probe", &DeleteParams::background())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = pods
            .list(&ListParams::default().labels("app=probe"))
            .await
            .unwrap();
        if left.items.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pods not garbage-collected: {}",
            left.items.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
