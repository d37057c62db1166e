//! `helm install` on the real node, and the pipeline's guarantees with real pods: the
//! operator (2 replicas, leader election) and the bundled Redis (its append-only file on a
//! PersistentVolume) from the chart, the store and HubSpot simulators as pods, a Shopify
//! pipeline whose receiver and worker pods run under the `restricted` Pod Security Standard,
//! and signed webhooks (`syncline sim storm`, from inside the node's namespace) sent to the
//! receiver's ClusterIP Service. Then, in turn: the leader killed, a worker force-deleted
//! mid-stream, `Paused` mid-stream, the Redis pod deleted, a backlog scaled out onto new
//! pods, the Secret rotated during a stream, webhooks dropped and caught by the poll, scaled
//! to zero and woken, measured spikes (`spike.rs`), and `helm uninstall`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::inside::*;
use crate::support::node::{Node, host_checks_exclusive};
use crate::support::repo;
use crate::{import_image, import_redis_image, run_restricted};

const SECRET: &str = "first-webhook-secret";
const ROTATED: &str = "second-webhook-secret";
const CRM_TOKEN: &str = "pat-real-node";
const STORE_TOKEN: &str = "shpat_real_node";

#[tokio::test(flavor = "multi_thread")]
async fn helm_install_runs_a_pipeline_in_real_pods_through_kills_pauses_and_rotations() {
    let started = Instant::now();
    let _exclusive = host_checks_exclusive();
    let node = Node::start();
    let client = node.client().await;
    import_image(&node);
    let (redis_repository, redis_tag) = import_redis_image(&node);
    for ns in [SYSTEM_NS, crate::NS] {
        kubectl_ok(&node, &["create", "namespace", ns]);
        kubectl_ok(
            &node,
            &[
                "label",
                "namespace",
                ns,
                "pod-security.kubernetes.io/enforce=restricted",
            ],
        );
    }
    redis_volume(&node);
    helm_install(&node, &redis_repository, &redis_tag);
    simulators(&node, &client).await;
    apply_pipeline(&node);

    pods_run_as_65532_on_a_read_only_root(&node);
    first_storm_lands_exactly_once(&node);
    leader_failover(&node);
    force_deleted_worker_mid_stream(&node);
    paused_mid_stream_then_redis_deleted_then_scaled_out(&node);
    secret_rotation_mid_stream(&node);
    crate::spike::dropped_webhooks_are_caught_by_the_poll(&node, ROTATED);
    crate::spike::scaled_to_zero_one_webhook_wakes_a_worker_pod(&node, ROTATED);
    crate::spike::spikes_autoscale_on_real_pods(&node, ROTATED);
    helm_uninstall(&node);
    node.stop();
    println!("test took {:.1} s", started.elapsed().as_secs_f64());
}

/// A PersistentVolume on the node's disk (under its folder) for the Redis claim: the node
/// has no provisioner, so the class names a static volume.
fn redis_volume(node: &Node) {
    let path = node.cp_dir().join("redis-volume");
    std::fs::create_dir_all(&path).unwrap();
    std::os::unix::fs::chown(&path, Some(65532), Some(65532)).unwrap();
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "redis-data"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": "node-disk", "persistentVolumeReclaimPolicy": "Retain",
                 "hostPath": {"path": path, "type": "Directory"}}});
    let file = node.cp_dir().join("redis-pv.json");
    std::fs::write(&file, pv.to_string()).unwrap();
    kubectl_ok(node, &["apply", "-f", file.to_str().unwrap()]);
}

fn helm_install(node: &Node, redis_repository: &str, redis_tag: &str) {
    let t = Instant::now();
    let helm = node.bins.join("helm");
    let kubeconfig = node.kubeconfig.display().to_string();
    let chart = repo().join("charts/syncline");
    let sets = [
        "image.repository=localhost/syncline".to_string(),
        format!("image.tag={}", env!("CARGO_PKG_VERSION")),
        "image.pullPolicy=Never".into(),
        "resync=10s".into(),
        "queueSampleInterval=2s".into(),
        "redis.enabled=true".into(),
        format!("redis.image.repository={redis_repository}"),
        "redis.image.pullPolicy=Never".into(),
        "redis.storageClass=node-disk".into(),
    ];
    let mut cmd = vec![
        helm.to_str().unwrap(),
        "--kubeconfig",
        &kubeconfig,
        "install",
        "syncline",
        chart.to_str().unwrap(),
        "--namespace",
        SYSTEM_NS,
        "--wait",
        "--timeout",
        "180s",
    ];
    for s in &sets {
        cmd.extend(["--set", s.as_str()]);
    }
    let tag = format!("redis.image.tag={redis_tag}");
    cmd.extend(["--set-string", &tag]);
    let out = node.exec(&cmd);
    if !out.status.success() {
        let (_, pods, _) = node.kubectl(&["get", "pods", "-A", "-o", "wide"]);
        let (_, events, _) = node.kubectl(&["get", "events", "-A"]);
        panic!(
            "helm install: {}{}\n{pods}\n{events}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let operator = kubectl_json(
        node,
        &["-n", SYSTEM_NS, "get", "deploy", "syncline-operator"],
    );
    assert_eq!(
        operator["status"]["readyReplicas"], 2,
        "{}",
        operator["status"]
    );
    println!(
        "helm install --wait: operator (2 replicas) and Redis Ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

async fn simulators(node: &Node, client: &kube::Client) {
    run_restricted(
        node,
        client,
        "hubspot-sim",
        &crate::image_tag(),
        json!([
            "sim",
            "hubspot",
            "--token",
            CRM_TOKEN,
            "--listen",
            "0.0.0.0:8090"
        ]),
        8090,
        json!({"httpGet": {"path": "/_sim/stats", "port": "p"}, "periodSeconds": 1}),
        "/tmp",
    )
    .await;
    run_restricted(
        node,
        client,
        "shopify-sim",
        &crate::image_tag(),
        json!([
            "sim",
            "shopify",
            "--token",
            STORE_TOKEN,
            "--listen",
            "0.0.0.0:8091",
            "--webhook-secret",
            SECRET
        ]),
        8091,
        json!({"httpGet": {"path": "/_sim/stats", "port": "p"}, "periodSeconds": 1}),
        "/tmp",
    )
    .await;
}

fn secret_manifest(secret: &str, previous: Option<&str>) -> serde_json::Value {
    let mut data = json!({"webhookSecret": secret, "storeToken": STORE_TOKEN,
                          "crmToken": CRM_TOKEN});
    if let Some(p) = previous {
        data["webhookSecretPrevious"] = json!(p);
    }
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "acme-credentials", "namespace": crate::NS},
           "stringData": data})
}

fn pipeline_manifest() -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "List", "items": [
        secret_manifest(SECRET, None),
        {"apiVersion": "syncline.dev/v1alpha1", "kind": "SyncPipeline",
         "metadata": {"name": PIPELINE, "namespace": crate::NS},
         "spec": {
            "store": {"platform": "shopify",
                      "url": "http://shopify-sim.shops.svc.cluster.local:8091",
                      "shopify": {"shopDomain": "acme.myshopify.com"}},
            "crm": {"platform": "hubspot", "url": CRM_URL},
            "secretRef": {"name": "acme-credentials"},
            "objects": ["customers", "orders"],
            "redis": {"url": format!("redis://{REDIS_HOST}:6379")},
            "receiver": {"replicas": 2},
            "workers": {"minReplicas": 1, "maxReplicas": 4, "targetLagPerWorker": 100,
                        "scaleDownStabilizationSeconds": 600},
            "deletionPolicy": "Retain"}}]})
}

fn apply(node: &Node, manifest: &serde_json::Value, file: &str) {
    let path = node.cp_dir().join(file);
    std::fs::write(&path, manifest.to_string()).unwrap();
    kubectl_ok(node, &["apply", "-f", path.to_str().unwrap()]);
}

fn ready_condition(node: &Node) -> Result<(), String> {
    let p = kubectl_json(node, &["-n", crate::NS, "get", "sp", PIPELINE]);
    let conditions = &p["status"]["conditions"];
    let ready = conditions
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"] == "True");
    if ready == Some(true) {
        Ok(())
    } else {
        Err(conditions.to_string())
    }
}

fn apply_pipeline(node: &Node) {
    let t = Instant::now();
    apply(node, &pipeline_manifest(), "pipeline.json");
    wait_for(180, "the pipeline Ready=True with real pods", || {
        ready_condition(node)
    });
    // Ready=True once each role has a pod available; then every pod.
    let ready_after = t.elapsed().as_secs_f64();
    for (c, want) in [("receiver", 2), ("worker", 1)] {
        wait_for(120, &format!("{want} {c} pods Running and Ready"), || {
            let pods = pods_of(node, crate::NS, &component(c));
            let n = pods.iter().filter(|p| ready(p)).count();
            (pods.len() == want && n == want)
                .then_some(())
                .ok_or(format!("{n} of {} Ready", pods.len()))
        });
    }
    println!(
        "kubectl apply → Ready=True in {ready_after:.1} s; every receiver and worker pod Running and Ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!("{}", kubectl_ok(node, &["-n", crate::NS, "get", "sp"]));
    network_policies_in_place(node);
}

/// Everything after this runs with the chart's and the pipeline's NetworkPolicies in
/// place (the node's bridge CNI accepts them without enforcing them, so this proves the
/// objects valid and harmless to the data path, not the fences themselves).
fn network_policies_in_place(node: &Node) {
    let names = kubectl_ok(node, &["get", "networkpolicy", "-A", "-o", "name"]);
    for want in [
        "acme-receiver",
        "acme-worker",
        "syncline-operator",
        "syncline-redis",
    ] {
        assert!(
            names
                .lines()
                .any(|l| l == format!("networkpolicy.networking.k8s.io/{want}")),
            "NetworkPolicy {want} missing:\n{names}"
        );
    }
    println!("NetworkPolicies in place: {}", names.lines().count());
}

/// Every pod of the pipeline and the operator runs as 65532 on a read-only root filesystem.
fn pods_run_as_65532_on_a_read_only_root(node: &Node) {
    for (ns, selector) in [
        (crate::NS, component("receiver")),
        (crate::NS, component("worker")),
        (
            SYSTEM_NS,
            "app.kubernetes.io/component=operator".to_string(),
        ),
        (SYSTEM_NS, "app.kubernetes.io/component=redis".to_string()),
    ] {
        for pod in pods_of(node, ns, &selector) {
            let id = pod["status"]["containerStatuses"][0]["containerID"]
                .as_str()
                .unwrap()
                .to_string();
            let pid = node.container_pid(&id);
            assert_eq!(
                crate::proc_status(pid, "Uid"),
                "65532 65532 65532 65532",
                "{}",
                name(&pod)
            );
            let write = std::fs::write(format!("/proc/{pid}/root/probe"), b"x");
            assert_eq!(
                write.as_ref().map_err(|e| e.raw_os_error()),
                Err(Some(30)),
                "{}: the root filesystem must be read-only",
                name(&pod)
            );
        }
    }
}

fn first_storm_lands_exactly_once(node: &Node) {
    let summary = storm(
        node,
        SECRET,
        &[
            "--profile",
            "20x5",
            "--orders",
            "30",
            "--first-id",
            "1000",
            "--duplicates",
            "0.2",
            "--out-of-order",
            "0.2",
            "--seed",
            "3",
        ],
    );
    all_acknowledged(&summary, "first storm");
    let took = wait_landed(node, &newest(&summary), true, 120);
    println!(
        "storm of {} through the receiver Service ({} orders): every order at its newest version, one deal each, {took:.1} s after the storm; receiver p50 {:.1} ms p99 {:.1} ms",
        summary["sent"],
        30,
        summary["p50Ms"].as_f64().unwrap(),
        summary["p99Ms"].as_f64().unwrap()
    );
    // NAME STORE CRM WORKERS DESIRED LAG DRAIN READY AGE, once the operator sampled the
    // drained queue.
    let out = wait_for(
        30,
        "kubectl get sp showing 1 worker, lag 0 and drain 0",
        || {
            let out = kubectl_ok(node, &["-n", crate::NS, "get", "sp"]);
            let row: Vec<String> = out
                .lines()
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .map(String::from)
                .collect();
            let want = [PIPELINE, "shopify", "hubspot", "1", "1", "0", "0", "True"];
            (row.len() >= want.len() && row[..want.len()] == want)
                .then_some(out.clone())
                .ok_or(out)
        },
    );
    println!("{out}");
}

fn lease_holder(node: &Node) -> String {
    let lease = kubectl_json(
        node,
        &["-n", SYSTEM_NS, "get", "lease", "syncline-operator"],
    );
    lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The host PID of a pod's (first) container.
fn container_pid_of(node: &Node, ns: &str, pod: &str) -> u32 {
    let p = kubectl_json(node, &["-n", ns, "get", "pod", pod]);
    node.container_pid(
        p["status"]["containerStatuses"][0]["containerID"]
            .as_str()
            .unwrap(),
    )
}

fn sigkill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -KILL {pid}");
}

/// The pod a holder identity (`<pod>_<process suffix>`) belongs to.
fn pod_of(identity: &str) -> &str {
    identity.split('_').next().unwrap_or_default()
}

fn new_holder(node: &Node, old: &str) -> String {
    wait_for(60, "a new lease holder", || {
        let holder = lease_holder(node);
        (!holder.is_empty() && holder != old)
            .then_some(holder.clone())
            .ok_or(holder)
    })
}

/// The leader's process is killed outright (SIGKILL: no lease release, as in a crash): a new
/// holder (the standby, or the restarted container as a new candidate) only once the lease
/// expires. Then the leader pod is deleted (SIGTERM: it releases the lease): the other
/// replica leads at once. Reconciling goes on under the new leader.
fn leader_failover(node: &Node) {
    let leader = lease_holder(node);
    let operators: Vec<String> = pods_of(node, SYSTEM_NS, "app.kubernetes.io/component=operator")
        .iter()
        .map(name)
        .collect();
    assert!(
        operators.iter().any(|p| p == pod_of(&leader)),
        "the lease holder {leader:?} is one of the operator pods {operators:?}"
    );
    let t = Instant::now();
    sigkill(container_pid_of(node, SYSTEM_NS, pod_of(&leader)));
    let next = new_holder(node, &leader);
    println!(
        "leader {leader} SIGKILLed; {next} leads {:.1} s later (lease 15 s, renewed every 5 s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    kubectl_ok(
        node,
        &[
            "-n",
            SYSTEM_NS,
            "delete",
            "pod",
            pod_of(&next),
            "--wait=false",
        ],
    );
    let after = new_holder(node, &next);
    assert_ne!(pod_of(&after), pod_of(&next), "the other replica took over");
    println!(
        "leader pod {} deleted; {after} leads {:.1} s later (the lease released on SIGTERM)",
        pod_of(&next),
        t.elapsed().as_secs_f64()
    );
    // Reconciling goes on under the new leader: a spec change reaches the Deployment.
    patch_spec(node, json!({"receiver": {"replicas": 1}}));
    wait_for(60, "the receiver Deployment at 1 replica", || {
        let d = kubectl_json(node, &["-n", crate::NS, "get", "deploy", "acme-receiver"]);
        (d["spec"]["replicas"] == 1)
            .then_some(())
            .ok_or(d["spec"]["replicas"].to_string())
    });
}

/// A stream of webhooks while the worker's process is SIGKILLed (its container restarts
/// under a new consumer name and claims the dead one's pending entries after the visibility
/// timeout), then while the worker pod is force-deleted: every acknowledged order lands
/// once, at its newest version.
fn force_deleted_worker_mid_stream(node: &Node) {
    let worker = name(&pods_of(node, crate::NS, &component("worker"))[0]);
    let stream = [
        "--profile",
        "20x10",
        "--orders",
        "60",
        "--first-id",
        "2000",
        "--seed",
        "5",
    ];
    lands_once_through(node, &stream, "SIGKILLed", || {
        sigkill(container_pid_of(node, crate::NS, &worker))
    });
    let stream = [
        "--profile",
        "20x10",
        "--orders",
        "60",
        "--first-id",
        "2500",
        "--seed",
        "6",
    ];
    lands_once_through(node, &stream, "force-deleted", || {
        let delete = [
            "-n",
            crate::NS,
            "delete",
            "pod",
            &worker,
            "--grace-period=0",
            "--force",
        ];
        kubectl_ok(node, &delete);
    });
}

/// A storm of `args` with `disrupt` done 4 s into it: every acknowledged delivery lands once,
/// at its newest version.
fn lands_once_through(node: &Node, args: &[&str], what: &str, disrupt: impl FnOnce()) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let cp = node.cp_dir();
    let stream = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        storm_in(&cp, SECRET, &args)
    });
    std::thread::sleep(Duration::from_secs(4));
    disrupt();
    let summary = stream.join().unwrap();
    all_acknowledged(&summary, &format!("storm while the worker is {what}"));
    let took = wait_landed(node, &newest(&summary), true, 240);
    println!(
        "worker {what} mid-stream: all {} acknowledged deliveries landed once, {took:.1} s after the storm",
        summary["sent"]
    );
}

/// What a worker pod that outlives its SIGTERM is doing: its signal masks (is SIGTERM
/// pending, blocked, caught?) and its last log lines.
fn report_lingering(node: &Node, pod: &serde_json::Value) {
    let (_, logs, _) = node.kubectl(&["-n", crate::NS, "logs", &name(pod), "--tail", "60"]);
    let id = pod["status"]["containerStatuses"][0]["containerID"]
        .as_str()
        .unwrap_or("");
    let signals = if id.is_empty() {
        String::new()
    } else {
        let pid = node.container_pid(id);
        let masks = [
            "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "Threads", "State",
        ]
        .iter()
        .map(|k| format!("{k}={}", crate::proc_status(pid, k)))
        .collect::<Vec<_>>()
        .join(" ");
        // Does it stop on a SIGTERM sent now? (Tells a process that ignores the signal from
        // a signal that never came.)
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        std::thread::sleep(Duration::from_secs(5));
        let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
        format!("{masks}; 5 s after our own SIGTERM it is gone: {gone}")
    };
    let kubelet = std::fs::read_to_string(node.cp_dir().join("kubelet.log")).unwrap_or_default();
    let said: Vec<&str> = kubelet.lines().filter(|l| l.contains(&name(pod))).collect();
    println!(
        "worker {} still running 15 s after Paused (deleting: {}; {signals}):\n{logs}\nkubelet about it:\n{}",
        name(pod),
        !pod["metadata"]["deletionTimestamp"].is_null(),
        said[said.len().saturating_sub(15)..].join("\n")
    );
}

/// A merge patch of the pipeline's spec.
pub(crate) fn patch_spec(node: &Node, spec: serde_json::Value) {
    let patch = json!({ "spec": spec }).to_string();
    let args = [
        "-n",
        crate::NS,
        "patch",
        "sp",
        PIPELINE,
        "--type",
        "merge",
        "-p",
        &patch,
    ];
    kubectl_ok(node, &args);
}

fn set_state(node: &Node, state: &str) {
    patch_spec(node, json!({ "state": state }));
}

fn paused_mid_stream_then_redis_deleted_then_scaled_out(node: &Node) {
    // Paused while a stream comes in: the worker gets SIGTERM, acknowledges the batch in
    // hand and exits; nothing it claimed stays pending; nothing was written twice.
    let stream = storm_in_background(
        node,
        SECRET,
        &[
            "--profile",
            "50x6",
            "--orders",
            "300",
            "--first-id",
            "3000",
            "--seed",
            "7",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    set_state(node, "Paused");
    let t = Instant::now();
    let pausing = stream.join().unwrap();
    all_acknowledged(&pausing, "storm while pausing");
    let mut reported = false;
    wait_for(90, "no worker pods while Paused", || {
        let pods = kubectl_json(
            node,
            &["-n", crate::NS, "get", "pods", "-l", &component("worker")],
        );
        let pods = pods["items"].as_array().unwrap();
        if !reported && !pods.is_empty() && t.elapsed() > Duration::from_secs(15) {
            reported = true;
            pods.iter().for_each(|p| report_lingering(node, p));
        }
        pods.is_empty()
            .then_some(())
            .ok_or(format!("{} worker pods", pods.len()))
    });
    println!(
        "Paused: no worker pods {:.1} s after the patch",
        t.elapsed().as_secs_f64()
    );
    let text = redis(node, &["XPENDING", STREAM, "workers"]).unwrap();
    assert!(
        text.starts_with("1) (integer) 0"),
        "entries left pending by the SIGTERMed worker: {text}"
    );
    let twice: Vec<_> = deal_writes(node)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "deal versions written twice: {twice:?}");

    // While Paused the receivers keep queueing: a backlog.
    let backlog = storm(
        node,
        SECRET,
        &[
            "--profile",
            "100x5",
            "--orders",
            "500",
            "--first-id",
            "3500",
            "--seed",
            "8",
        ],
    );
    all_acknowledged(&backlog, "storm while Paused");
    let queued = redis_int(node, &["XLEN", STREAM]).unwrap();
    assert!(
        queued > 0,
        "a backlog waits while Paused; storm {}; group {:?}; {} deals",
        backlog,
        redis(node, &["XINFO", "GROUPS", STREAM]),
        deals(node).len()
    );

    // The Redis pod deleted while the backlog waits: receivers answer 503 meanwhile, the
    // append-only file on the volume brings the backlog back, nothing restarts.
    let before = (restarts(node, crate::NS, &component("receiver")), queued);
    std::thread::sleep(Duration::from_secs(2)); // appendfsync everysec
    kubectl_ok(
        node,
        &[
            "-n",
            SYSTEM_NS,
            "delete",
            "pod",
            "syncline-redis-0",
            "--wait=false",
        ],
    );
    let outage = storm(
        node,
        SECRET,
        &[
            "--profile",
            "5x10",
            "--orders",
            "50",
            "--first-id",
            "9000",
            "--seed",
            "9",
        ],
    );
    wait_for(120, "Redis back", || redis_int(node, &["XLEN", STREAM]));
    let after = redis_int(node, &["XLEN", STREAM]).unwrap();
    println!(
        "Redis pod deleted: the storm meanwhile saw {outage}; the stream kept {queued} → {after} entries"
    );
    assert!(
        outage["statuses"]["503"].as_u64().unwrap_or(0) > 0,
        "receivers answer 503 while Redis is gone: {outage}"
    );
    assert_eq!(
        outage["errors"], 0,
        "no refused connection: receivers stay in the Service"
    );
    assert!(
        after >= queued,
        "the backlog survived Redis' restart: {queued} → {after}"
    );
    assert_eq!(restarts(node, crate::NS, &component("receiver")), before.0);

    // Running again: the backlog raises the worker replicas, new pods consume, lag drains.
    // A CRM answering in 300 ms (HubSpot's batch calls often take that): one worker alone
    // would take tens of seconds here, so the new pods find work when they start.
    crm_faults(node, &json!({"latencyMs": 300}));
    let t = Instant::now();
    set_state(node, "Running");
    let scaled = wait_for(90, "more than one worker desired", || {
        let d = kubectl_json(node, &["-n", crate::NS, "get", "deploy", "acme-worker"]);
        let n = d["spec"]["replicas"].as_u64().unwrap_or(0);
        (n > 1).then_some(n).ok_or(format!("replicas {n}"))
    });
    println!(
        "backlog of {after}: {scaled} workers desired {:.1} s after Running",
        t.elapsed().as_secs_f64()
    );
    let mut newest_all = newest(&pausing);
    newest_all.extend(newest(&backlog));
    newest_all.extend(newest(&outage));
    let took = wait_landed(node, &newest_all, false, 240);
    let pods: Vec<String> = pods_of(node, crate::NS, &component("worker"))
        .iter()
        .map(name)
        .collect();
    let handled: Vec<f64> = pods.iter().map(|p| events_handled(node, p)).collect();
    let consumed = handled.iter().filter(|n| **n > 0.0).count();
    assert!(
        consumed >= 2,
        "new worker pods consumed: events handled per pod {pods:?}: {handled:?}"
    );
    wait_for(60, "status lag 0", || {
        let p = kubectl_json(node, &["-n", crate::NS, "get", "sp", PIPELINE]);
        (p["status"]["queue"]["lag"] == 0)
            .then_some(())
            .ok_or(p["status"]["queue"].to_string())
    });
    println!(
        "{consumed} new worker pods consumed the backlog (events per pod {handled:?}); every order landed {took:.1} s after Running"
    );
    crm_faults(node, &json!({}));
    for c in ["receiver", "worker"] {
        assert_eq!(
            restarts(node, crate::NS, &component(c)),
            0,
            "{c} pods restarted"
        );
    }
}

/// The Secret rotated with the old secret kept as `webhookSecretPrevious`: the pods roll,
/// and deliveries signed with the old secret (what the store still sends during the roll)
/// are all accepted; once rolled, the new secret is accepted too.
fn secret_rotation_mid_stream(node: &Node) {
    let before: Vec<String> = pods_of(node, crate::NS, &component("receiver"))
        .iter()
        .map(name)
        .collect();
    let stream = storm_in_background(
        node,
        SECRET,
        &[
            "--profile",
            "10x25",
            "--orders",
            "50",
            "--first-id",
            "5000",
            "--seed",
            "11",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    apply(
        node,
        &secret_manifest(ROTATED, Some(SECRET)),
        "rotated.json",
    );
    kubectl_ok(
        node,
        &[
            "-n",
            crate::NS,
            "rollout",
            "status",
            "deploy/acme-receiver",
            "--timeout=120s",
        ],
    );
    let during = stream.join().unwrap();
    all_acknowledged(&during, "old-secret deliveries during the roll");
    let after: Vec<String> = pods_of(node, crate::NS, &component("receiver"))
        .iter()
        .map(name)
        .collect();
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "the receiver pods rolled: {before:?} → {after:?}"
    );
    let rotated = storm(
        node,
        ROTATED,
        &[
            "--profile",
            "10x2",
            "--orders",
            "20",
            "--first-id",
            "6000",
            "--seed",
            "13",
        ],
    );
    all_acknowledged(&rotated, "new-secret deliveries after the roll");
    let mut all = newest(&during);
    all.extend(newest(&rotated));
    wait_landed(node, &all, true, 180);
    println!(
        "Secret rotated mid-stream: {} old-secret deliveries during the roll and {} new-secret ones after, all accepted and landed",
        during["sent"], rotated["sent"]
    );
}

/// `helm uninstall` removes every object of the release; the CRD (in the chart's crds/),
/// the user's pipelines and their children, and the Redis claim stay, as documented.
fn helm_uninstall(node: &Node) {
    let helm = node.bins.join("helm");
    let kubeconfig = node.kubeconfig.display().to_string();
    let out = node.exec(&[
        helm.to_str().unwrap(),
        "--kubeconfig",
        &kubeconfig,
        "uninstall",
        "syncline",
        "--namespace",
        SYSTEM_NS,
        "--wait",
        "--timeout",
        "120s",
    ]);
    assert!(
        out.status.success(),
        "helm uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, left, _) = node.kubectl(&[
        "get",
        "deploy,statefulset,svc,sa,role,rolebinding,lease,configmap,secret",
        "-n",
        SYSTEM_NS,
        "-o",
        "name",
    ]);
    let left: Vec<&str> = left
        .lines()
        // What Kubernetes itself puts in every namespace.
        .filter(|l| *l != "configmap/kube-root-ca.crt" && *l != "serviceaccount/default")
        .collect();
    assert!(left.is_empty(), "left in {SYSTEM_NS}: {left:?}");
    let (_, cluster, _) = node.kubectl(&["get", "clusterrole,clusterrolebinding", "-o", "name"]);
    assert!(
        !cluster.contains("syncline"),
        "cluster-wide objects left: {cluster}"
    );
    kubectl_ok(node, &["get", "crd", "syncpipelines.syncline.dev"]);
    kubectl_ok(node, &["-n", crate::NS, "get", "sp", PIPELINE]);
    kubectl_ok(
        node,
        &["-n", SYSTEM_NS, "get", "pvc", "data-syncline-redis-0"],
    );
}
