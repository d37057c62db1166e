//! Sharding: two operators, each with its own `--pipeline-selector` and leader Lease, split
//! a cluster's pipelines between them (running as the shipped service account against a
//! real API server). Each reconciles only the pipelines its selector picks, a pipeline
//! neither picks is left alone, and a malformed selector stops the operator at once with
//! the API server's words.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use support::operator::OperatorProcess;
use support::pipelines::{NS, pipeline, secret, setup};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::SyncPipeline;

fn shard_flags(shard: &str) -> Vec<String> {
    [
        "--pipeline-selector",
        &format!("shard={shard}"),
        "--leader-election",
        "--lease-name",
        &format!("syncline-shard-{shard}"),
        "--resync",
        "2s",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test]
async fn two_operators_split_the_pipelines_by_label() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret("creds", "s"))
        .await
        .unwrap();
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    for (name, shard) in [("alpha", Some("a")), ("beta", Some("b")), ("gamma", None)] {
        let mut p = pipeline(name, "creds", &redis.url(), "Retain");
        if let Some(shard) = shard {
            p.metadata.labels = Some([("shard".to_string(), shard.to_string())].into());
        }
        pipelines.create(&PostParams::default(), &p).await.unwrap();
    }
    let kubeconfig = cp.service_account_kubeconfig("syncline-system", "syncline-operator");
    let flags: Vec<Vec<String>> = ["a", "b"].map(shard_flags).to_vec();
    let refs: Vec<Vec<&str>> = flags
        .iter()
        .map(|f| f.iter().map(String::as_str).collect())
        .collect();
    let _a = OperatorProcess::start(&kubeconfig, "shard-a", &refs[0]);
    let _b = OperatorProcess::start(&kubeconfig, "shard-b", &refs[1]);

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    for name in ["alpha", "beta"] {
        eventually(60, &format!("{name} reconciled by its shard"), || async {
            let p = pipelines.get(name).await.ok()?;
            let observed = p.status?.observed_generation?;
            let receiver = deployments
                .get_opt(&format!("{name}-receiver"))
                .await
                .ok()??;
            (observed >= 1 && receiver.metadata.name.is_some()).then_some(())
        })
        .await;
    }
    let leases: Api<Lease> = Api::namespaced(client.clone(), "syncline-system");
    for shard in ["a", "b"] {
        let lease = leases
            .get(&format!("syncline-shard-{shard}"))
            .await
            .unwrap();
        let holder = lease.spec.and_then(|s| s.holder_identity);
        assert_eq!(holder.as_deref(), Some(format!("shard-{shard}").as_str()));
    }
    // Both shards have synced their watches and reconciled their own; a pipeline neither
    // selects stays untouched, through several resyncs.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let gamma = pipelines.get("gamma").await.unwrap();
    assert!(
        gamma.status.is_none(),
        "no shard wrote gamma's status: {:?}",
        gamma.status
    );
    assert!(
        gamma.metadata.finalizers.unwrap_or_default().is_empty(),
        "no shard took gamma"
    );
    assert!(
        deployments
            .get_opt("gamma-receiver")
            .await
            .unwrap()
            .is_none(),
        "no shard built gamma's children"
    );
}

#[tokio::test]
async fn a_malformed_selector_stops_the_operator_naming_it() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let _client = setup(&cp).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["operator", "--listen", "127.0.0.1:0"])
        .args(["--pipeline-selector", "shard in (a"])
        .env("KUBECONFIG", &cp.kubeconfig)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the operator stops at once")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--pipeline-selector `shard in (a` was refused by the API server"),
        "{stderr}"
    );
}
