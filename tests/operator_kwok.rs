//! The operator against a KWOK cluster and a real redis-server, running as the service
//! account that deploy/rbac.yaml binds, so the shipped RBAC is proven sufficient.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use support::operator::OperatorProcess;
use support::pipelines::{NS, condition_of, pipeline, secret, setup, wait_condition};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::{SyncPipeline, condition};

fn template_annotation(d: &Deployment, key: &str) -> String {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()[key]
        .clone()
}

async fn resource_versions(client: &kube::Client, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let p = Api::<SyncPipeline>::namespaced(client.clone(), NS)
        .get(name)
        .await
        .unwrap();
    out.insert("pipeline".into(), p.resource_version().unwrap());
    let cm = Api::<ConfigMap>::namespaced(client.clone(), NS)
        .get(&format!("{name}-config"))
        .await
        .unwrap();
    out.insert("configmap".into(), cm.resource_version().unwrap());
    let svc = Api::<Service>::namespaced(client.clone(), NS)
        .get(&format!("{name}-receiver"))
        .await
        .unwrap();
    out.insert("service".into(), svc.resource_version().unwrap());
    let pdb = Api::<PodDisruptionBudget>::namespaced(client.clone(), NS)
        .get(&format!("{name}-receiver"))
        .await
        .unwrap();
    out.insert("pdb".into(), pdb.resource_version().unwrap());
    for d in ["receiver", "worker"] {
        let np = Api::<NetworkPolicy>::namespaced(client.clone(), NS)
            .get(&format!("{name}-{d}"))
            .await
            .unwrap();
        out.insert(format!("networkpolicy {d}"), np.resource_version().unwrap());
    }
    for d in ["receiver", "worker"] {
        let dep = Api::<Deployment>::namespaced(client.clone(), NS)
            .get(&format!("{name}-{d}"))
            .await
            .unwrap();
        out.insert(d.into(), dep.resource_version().unwrap());
    }
    out
}

#[tokio::test]
async fn pipeline_lifecycle_with_the_shipped_rbac() {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let kubeconfig = cp.service_account_kubeconfig("syncline-system", "syncline-operator");
    let op = OperatorProcess::start(
        &kubeconfig,
        "op-lifecycle",
        &["--resync", "2s", "--cleanup-timeout", "20s"],
    );
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);

    // A pipeline whose Secret does not exist yet: a clear condition, and no pods.
    pipelines
        .create(
            &PostParams::default(),
            &pipeline("acme", "acme-creds", &redis.url(), "Delete"),
        )
        .await
        .unwrap();
    let msg = wait_condition(
        &pipelines,
        "acme",
        condition::READY,
        "False",
        "SecretNotFound",
    )
    .await;
    assert!(msg.contains("acme-creds"), "{msg}");
    assert!(
        deployments
            .get_opt("acme-receiver")
            .await
            .unwrap()
            .is_none(),
        "no Deployment may exist without its Secret"
    );
    assert!(
        Api::<Service>::namespaced(client.clone(), NS)
            .get_opt("acme-receiver")
            .await
            .unwrap()
            .is_some()
    );

    // A Secret that lacks a key names it.
    let mut partial = secret("acme-creds", "s1");
    partial.string_data.as_mut().unwrap().remove("crmToken");
    secrets
        .create(&PostParams::default(), &partial)
        .await
        .unwrap();
    let msg = wait_condition(
        &pipelines,
        "acme",
        condition::SECRET_RESOLVED,
        "False",
        "SecretKeyMissing",
    )
    .await;
    assert!(msg.contains("crmToken"), "{msg}");

    // The complete Secret: children appear, Deployments become available, Ready=True.
    secrets
        .replace(
            "acme-creds",
            &PostParams::default(),
            &secret("acme-creds", "s1"),
        )
        .await
        .unwrap();
    wait_condition(
        &pipelines,
        "acme",
        condition::READY,
        "True",
        "PipelineRunning",
    )
    .await;
    let p = pipelines.get("acme").await.unwrap();
    let status = p.status.clone().unwrap();
    assert_eq!(status.observed_generation, p.metadata.generation);
    assert_eq!(
        status.webhook_url.as_deref(),
        Some("http://acme-receiver.shops.svc:8080/webhooks/shopify")
    );
    assert_eq!(status.workers.as_ref().unwrap().ready_replicas, 1);
    let receiver = deployments.get("acme-receiver").await.unwrap();
    assert_eq!(receiver.spec.as_ref().unwrap().replicas, Some(2));
    let owner = &receiver.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("SyncPipeline", p.uid().unwrap().as_str())
    );
    let pod = receiver
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("registry.example/syncline:test")
    );
    assert_eq!(
        pod.containers[0]
            .security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem,
        Some(true)
    );

    // The workers' NetworkPolicy opens the pipeline's Redis port (and the receivers' their
    // listening port), as the API server stored them.
    let redis_port: i32 = redis.url().rsplit(':').next().unwrap().parse().unwrap();
    let policies = Api::<NetworkPolicy>::namespaced(client.clone(), NS);
    let worker_policy = policies.get("acme-worker").await.unwrap();
    let egress_ports: Vec<i32> = worker_policy
        .spec
        .as_ref()
        .unwrap()
        .egress
        .iter()
        .flatten()
        .flat_map(|r| r.ports.iter().flatten())
        .filter_map(|p| match &p.port {
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => Some(*n),
            _ => None,
        })
        .collect();
    assert!(egress_ports.contains(&redis_port), "{egress_ports:?}");
    assert_eq!(
        worker_policy.owner_references()[0].uid,
        p.uid().unwrap(),
        "the policy goes with the pipeline"
    );
    assert!(policies.get_opt("acme-receiver").await.unwrap().is_some());

    // Steady state: once every pod is available, several resyncs (every 2 s) write nothing.
    wait_condition(
        &pipelines,
        "acme",
        condition::RECEIVER_AVAILABLE,
        "True",
        "DeploymentAvailable",
    )
    .await;
    eventually(30, "both receiver pods available", || async {
        let (_, _, m) = condition_of(&pipelines, "acme", condition::RECEIVER_AVAILABLE).await?;
        (m == "2 of 2 receiver pods available").then_some(())
    })
    .await;
    let before = resource_versions(&client, "acme").await;
    let writes_before = op.metric("syncline_operator_writes_total").await;
    let reconciles_before = op.metric("syncline_operator_reconciles_total").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        op.metric("syncline_operator_reconciles_total").await >= reconciles_before + 2.0,
        "resyncs must have run"
    );
    assert_eq!(
        resource_versions(&client, "acme").await,
        before,
        "a steady pipeline changed an object"
    );
    assert_eq!(
        op.metric("syncline_operator_writes_total").await,
        writes_before,
        "a steady pipeline sent writes"
    );

    // Rotating the Secret rolls the pods through the checksum annotation.
    let old_sum = template_annotation(
        &deployments.get("acme-worker").await.unwrap(),
        "syncline.dev/secret-checksum",
    );
    secrets
        .replace("acme-creds", &PostParams::default(), &{
            let mut s = secrets.get("acme-creds").await.unwrap();
            s.data.as_mut().unwrap().insert(
                "webhookSecret".into(),
                k8s_openapi::ByteString(b"s2".to_vec()),
            );
            s
        })
        .await
        .unwrap();
    eventually(30, "secret checksum to change", || async {
        let d = deployments.get("acme-worker").await.ok()?;
        (template_annotation(&d, "syncline.dev/secret-checksum") != old_sum).then_some(())
    })
    .await;

    // Deleting the Secret: Ready=False with SecretNotFound, pods keep running; restoring recovers.
    secrets
        .delete("acme-creds", &DeleteParams::default())
        .await
        .unwrap();
    wait_condition(
        &pipelines,
        "acme",
        condition::READY,
        "False",
        "SecretNotFound",
    )
    .await;
    assert!(
        deployments
            .get_opt("acme-receiver")
            .await
            .unwrap()
            .is_some(),
        "existing pods are left running"
    );
    secrets
        .create(&PostParams::default(), &secret("acme-creds", "s2"))
        .await
        .unwrap();
    wait_condition(
        &pipelines,
        "acme",
        condition::READY,
        "True",
        "PipelineRunning",
    )
    .await;

    // Transitions are recorded as Events, not one per reconcile.
    let events: Api<Event> = Api::namespaced(client.clone(), NS);
    let list = events.list(&ListParams::default()).await.unwrap();
    let ours: Vec<_> = list
        .items
        .iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some("SyncPipeline") && r.name.as_deref() == Some("acme")
            })
        })
        .collect();
    let reasons: Vec<_> = ours.iter().filter_map(|e| e.reason.clone()).collect();
    assert!(reasons.iter().any(|r| r == "SecretNotFound"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r == "PipelineRunning"),
        "{reasons:?}"
    );
    // Several resyncs ran; a per-reconcile Event would have counted each of them. The
    // legitimate transitions (seven conditions, the Secret removed, restored, broken and
    // fixed) stay under 30.
    let published: i32 = ours
        .iter()
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum();
    assert!(
        published <= 30,
        "events look per-reconcile: {published}: {reasons:?}"
    );

    // Paused: workers scale to 0, the receiver keeps running; Running resumes.
    let pause = json!({"spec": {"state": "Paused"}});
    pipelines
        .patch("acme", &PatchParams::default(), &Patch::Merge(&pause))
        .await
        .unwrap();
    wait_condition(&pipelines, "acme", condition::PAUSED, "True", "Paused").await;
    wait_condition(&pipelines, "acme", condition::READY, "False", "Paused").await;
    assert_eq!(
        deployments
            .get("acme-worker")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(0)
    );
    assert_eq!(
        deployments
            .get("acme-receiver")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(2)
    );
    let run = json!({"spec": {"state": "Running"}});
    pipelines
        .patch("acme", &PatchParams::default(), &Patch::Merge(&run))
        .await
        .unwrap();
    wait_condition(
        &pipelines,
        "acme",
        condition::READY,
        "True",
        "PipelineRunning",
    )
    .await;
    assert_eq!(
        deployments
            .get("acme-worker")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(1)
    );

    // Health and metrics.
    assert_eq!(op.get("/healthz").await.0, 200);
    assert_eq!(op.get("/readyz").await.0, 200);
    assert!(
        op.get("/metrics")
            .await
            .1
            .contains("syncline_operator_reconcile_duration_seconds_bucket")
    );

    // Deletion with deletionPolicy Delete: Redis keys go, children are garbage-collected,
    // and other pipelines' keys stay.
    redis.cli(&["SET", "sl:{shops/acme}:cursor:orders", "x"]);
    redis.cli(&["XADD", "sl:{shops/acme}:events", "*", "k", "v"]);
    redis.cli(&["SET", "sl:{shops/other}:cursor:orders", "keep"]);
    pipelines
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    eventually(30, "pipeline deleted", || async {
        pipelines
            .get_opt("acme")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(redis.cli(&["KEYS", "sl:{shops/acme}:*"]).trim(), "");
    assert_eq!(
        redis.cli(&["GET", "sl:{shops/other}:cursor:orders"]).trim(),
        "keep"
    );
    eventually(60, "children garbage-collected", || async {
        deployments
            .get_opt("acme-receiver")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn retain_keeps_redis_data_and_an_unreachable_redis_never_blocks_deletion() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let op = OperatorProcess::start(
        &cp.kubeconfig,
        "op-deletion",
        &[
            "--cleanup-timeout",
            "6s",
            "--redis-timeout",
            "500ms",
            "--network-policies=false",
        ],
    );
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    secrets
        .create(&PostParams::default(), &secret("creds", "s"))
        .await
        .unwrap();

    // Retain: the keys survive the pipeline.
    pipelines
        .create(
            &PostParams::default(),
            &pipeline("kept", "creds", &redis.url(), "Retain"),
        )
        .await
        .unwrap();
    eventually(30, "finalizer added", || async {
        let p = pipelines.get("kept").await.ok()?;
        p.finalizers()
            .iter()
            .any(|f| f == "syncline.dev/cleanup")
            .then_some(())
    })
    .await;
    redis.cli(&["SET", "sl:{shops/kept}:cursor:orders", "x"]);
    pipelines
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    eventually(30, "kept deleted", || async {
        pipelines
            .get_opt("kept")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        redis.cli(&["GET", "sl:{shops/kept}:cursor:orders"]).trim(),
        "x"
    );

    // Redis unreachable: Ready says so, and deletion with Delete still completes after the
    // cleanup timeout, with a Warning Event that says the keys remain.
    let dead = "redis://127.0.0.1:1";
    pipelines
        .create(
            &PostParams::default(),
            &pipeline("orphan", "creds", dead, "Delete"),
        )
        .await
        .unwrap();
    let msg = wait_condition(
        &pipelines,
        "orphan",
        condition::READY,
        "False",
        "RedisUnreachable",
    )
    .await;
    assert!(
        !msg.contains("127.0.0.1:1"),
        "messages must not echo the Redis URL: {msg}"
    );
    // This operator runs with --network-policies=false: the pods are made, no policy is.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    assert!(
        deployments
            .get_opt("orphan-worker")
            .await
            .unwrap()
            .is_some()
    );
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), NS);
    assert!(
        policies
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "no NetworkPolicy may be made with --network-policies=false"
    );
    let uid = pipelines.get("orphan").await.unwrap().uid().unwrap();
    pipelines
        .delete("orphan", &DeleteParams::default())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    eventually(60, "orphan deleted", || async {
        pipelines
            .get_opt("orphan")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "cleanup must be retried before giving up"
    );
    let events: Api<Event> = Api::namespaced(client.clone(), NS);
    let abandoned = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .any(|e| {
            e.reason.as_deref() == Some("RedisCleanupAbandoned")
                && e.regarding.as_ref().and_then(|r| r.uid.as_deref()) == Some(uid.as_str())
                && e.type_.as_deref() == Some("Warning")
        });
    assert!(
        abandoned,
        "a Warning Event must say the cleanup was abandoned"
    );
    drop(op);
}

#[tokio::test]
async fn leader_election_fails_over_when_the_leader_dies() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let flags = [
        "--leader-election",
        "--lease-namespace",
        "syncline-system",
        "--lease-duration",
        "4s",
        "--lease-renew",
        "1s",
    ];
    let mut a = OperatorProcess::start(&cp.kubeconfig, "op-a", &flags);
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "syncline-system");
    eventually(20, "op-a to lead", || async {
        let l = leases.get_opt("syncline-operator").await.ok()??;
        (l.spec?.holder_identity? == "op-a").then_some(())
    })
    .await;
    let mut b = OperatorProcess::start(&cp.kubeconfig, "op-b", &flags);

    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    secrets
        .create(&PostParams::default(), &secret("creds", "s"))
        .await
        .unwrap();
    pipelines
        .create(
            &PostParams::default(),
            &pipeline("first", "creds", &redis.url(), "Retain"),
        )
        .await
        .unwrap();
    eventually(30, "first reconciled", || async {
        pipelines.get("first").await.ok()?.status.map(|_| ())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.metric("syncline_operator_reconciles_total").await >= 1.0);
    assert_eq!(
        b.metric("syncline_operator_reconciles_total").await,
        0.0,
        "the standby must not reconcile"
    );
    assert_eq!(b.metric("syncline_operator_leader").await, 0.0);

    a.kill();
    let killed = std::time::Instant::now();
    eventually(20, "op-b to take the lease", || async {
        let l = leases.get_opt("syncline-operator").await.ok()??;
        (l.spec?.holder_identity? == "op-b").then_some(())
    })
    .await;
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(4 + 3),
        "takeover took {took:?}, lease duration is 4 s"
    );
    pipelines
        .create(
            &PostParams::default(),
            &pipeline("second", "creds", &redis.url(), "Retain"),
        )
        .await
        .unwrap();
    eventually(30, "second reconciled by the new leader", || async {
        pipelines.get("second").await.ok()?.status.map(|_| ())
    })
    .await;
    assert_eq!(b.metric("syncline_operator_leader").await, 1.0);
    assert!(b.is_running());
    eprintln!("leader takeover after SIGKILL: {took:?}");
    let _ = Resource::object_ref(&pipelines.get("second").await.unwrap(), &());
}
