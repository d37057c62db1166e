//! Real pods on a real node (`scripts/control-plane.sh node`): the syncline image, built here
//! and imported without a registry, runs the HubSpot simulator as a Deployment with the
//! operator's own pod security settings in a namespace that enforces the `restricted` Pod
//! Security Standard; it is reached by its Service's DNS name from inside the node's
//! network namespace; the container really runs as 65532 on a read-only root filesystem;
//! the chart's bundled Redis runs the same way from its image; and the node leaves the
//! root namespace and the host's settings exactly as it found them.
//!
//! Needs root (network namespaces, cgroups, mounts), like the node itself. Never skipped.

mod inside;
mod install;
#[path = "../../benches/support/report.rs"]
mod report;
mod spike;
#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use support::node::{
    HostSnapshot, KUBELET_SYSCTLS, Node, host_checks_exclusive, host_paths, host_snapshot,
};
use support::repo;
use syncline::operator::resources::{BuildInputs, receiver_deployment};

const NS: &str = "shops";
const PORT: u16 = 8090;
const TOKEN: &str = "pat-real-node";
const UID: &str = "65532";

fn image_tag() -> String {
    format!("localhost/syncline:{}", env!("CARGO_PKG_VERSION"))
}

/// The pod security settings the operator gives its receiver and worker pods.
fn operator_security() -> (Value, Value) {
    let mut pipeline =
        support::pipelines::pipeline("acme", "acme-credentials", "redis://r:6379", "Retain");
    // The API server's once the pipeline exists; the builder puts it on the owner reference.
    pipeline.metadata.uid = Some("4c1d0c55-0000-4000-8000-000000000001".into());
    let inputs = BuildInputs {
        image: image_tag(),
        secret_checksum: "x".into(),
        worker_replicas: 1,
    };
    let d = receiver_deployment(&pipeline, &inputs, "x").unwrap();
    let spec = d.spec.unwrap().template.spec.unwrap();
    let pod = serde_json::to_value(spec.security_context.unwrap()).unwrap();
    let container =
        serde_json::to_value(spec.containers[0].security_context.clone().unwrap()).unwrap();
    (pod, container)
}

/// What changed in the root namespace's network state (and, once the node is down, in the
/// host's mounts: while it runs, its own mounts under its folder are expected).
fn diff(what: &str, before: &HostSnapshot, now: &HostSnapshot, mounts: bool) -> Vec<String> {
    let mut out = Vec::new();
    for ((cmd, a), (_, b)) in before.network.iter().zip(&now.network) {
        if a != b {
            out.push(format!(
                "{what}: `{cmd}` changed:\n--- before\n{a}\n--- {what}\n{b}"
            ));
        }
    }
    if mounts && before.mounts != now.mounts {
        out.push(format!(
            "{what}: mounts changed: {:?} vs {:?}",
            before.mounts, now.mounts
        ));
    }
    out
}

/// Reads `Key:\tvalue` from /proc/<pid>/status.
fn proc_status(pid: u32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn exec_ok(node: &Node, cmd: &[&str]) -> String {
    let out = node.exec(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} in the node's namespace failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the image from the binary under test and imports it into the node's containerd;
/// returns the archive.
fn import_image(node: &Node) -> std::path::PathBuf {
    let t = Instant::now();
    let out = std::process::Command::new("bash")
        .arg(repo().join("scripts/image.sh"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_syncline"))
        .arg("--import")
        .arg(node.cp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/image.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    println!(
        "image built and imported in {:.1} s, {} MB ({})",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&archive).unwrap().len() / 1_000_000,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    archive
}

/// Builds the Redis image (Debian's redis-server) and imports it; returns (repository, tag).
fn import_redis_image(node: &Node) -> (String, String) {
    let out = std::process::Command::new("bash")
        .arg(repo().join("scripts/image.sh"))
        .args(["--redis", "--import"])
        .arg(node.cp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/image.sh --redis: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tag = node
        .ctr(&["images", "ls", "-q"])
        .lines()
        .find(|l| l.starts_with("localhost/syncline-redis:"))
        .expect("the Redis image in the node's containerd")
        .to_string();
    let (repository, tag) = tag.rsplit_once(':').unwrap();
    (repository.to_string(), tag.to_string())
}

/// `docker build` of deploy/Dockerfile and scripts/image.sh give the same user and entrypoint.
fn assert_same_contract_as_dockerfile(archive: &std::path::Path) {
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let last = |word: &str| {
        dockerfile
            .lines()
            .filter_map(|l| l.strip_prefix(word))
            .next_back()
            .unwrap_or_else(|| panic!("no {word} in deploy/Dockerfile"))
            .trim()
            .to_string()
    };
    let out = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg("manifest.json")
        .output()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!([image_tag()]));
    let config_name = manifest[0]["Config"].as_str().unwrap();
    let out = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(config_name)
        .output()
        .unwrap();
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["config"]["User"], json!(last("USER ")));
    let entrypoint: Value = serde_json::from_str(&last("ENTRYPOINT ")).unwrap();
    assert_eq!(config["config"]["Entrypoint"], entrypoint);
    assert_eq!(config["config"]["User"], json!(format!("{UID}:{UID}")));
}

/// `image` as a one-replica Deployment `app` and its Service in NS, with the operator's pod
/// and container security settings (`operator_security`), `imagePullPolicy: Never`, an
/// emptyDir at `mount` and the container port `port` (named `p`); returns once available.
#[allow(clippy::too_many_arguments)]
async fn run_restricted(
    node: &Node,
    client: &kube::Client,
    app: &str,
    image: &str,
    args: Value,
    port: u16,
    readiness: Value,
    mount: &str,
) {
    let (pod_security, container_security) = operator_security();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": app, "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {
                    "automountServiceAccountToken": false,
                    "securityContext": pod_security,
                    "containers": [{
                        "name": app,
                        "image": image,
                        "imagePullPolicy": "Never",
                        "args": args,
                        "ports": [{"name": "p", "containerPort": port}],
                        "readinessProbe": readiness,
                        "securityContext": container_security,
                        "volumeMounts": [{"name": "scratch", "mountPath": mount}]
                    }],
                    "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}]
                }
            }
        }
    }))
    .unwrap();
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": app, "namespace": NS},
        "spec": {"selector": {"app": app}, "ports": [{"name": "p", "port": port, "targetPort": "p"}]}
    }))
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    Api::<Service>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &service)
        .await
        .unwrap();
    let available = await_condition(deployments, app, |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.available_replicas)
            == Some(1)
    });
    if tokio::time::timeout(Duration::from_secs(120), available)
        .await
        .is_err()
    {
        let (_, pods, _) = node.kubectl(&[
            "-n",
            NS,
            "get",
            "pods",
            "-l",
            &format!("app={app}"),
            "-o",
            "yaml",
        ]);
        panic!("{app} not available within 120 s:\n{pods}");
    }
}

/// The pod `selector` picks and the host PID of its container, found through containerd.
async fn container_of(node: &Node, client: &kube::Client, selector: &str) -> (String, u32) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pod = pods
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap()
        .items
        .remove(0);
    let id = pod.status.unwrap().container_statuses.unwrap()[0]
        .container_id
        .clone()
        .unwrap();
    (pod.metadata.name.unwrap(), node.container_pid(&id))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_runs_restricted_on_a_real_node_which_leaves_the_host_as_it_was() {
    let test_started = Instant::now();
    let _exclusive = host_checks_exclusive();
    let before = host_snapshot();
    let paths_before = host_paths();

    let node = Node::start();
    let client = node.client().await;

    // The image, from the binary under test, imported into the node's containerd.
    let archive = import_image(&node);
    assert_same_contract_as_dockerfile(&archive);
    assert!(
        node.ctr(&["images", "ls", "-q"])
            .lines()
            .any(|l| l == image_tag()),
        "{} not in the node's containerd",
        image_tag()
    );

    // A namespace that enforces the restricted Pod Security Standard.
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS,
        "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // It really enforces: a pod without the settings is refused.
    let (ok, _, err) = node.kubectl(&[
        "-n",
        NS,
        "run",
        "loose",
        "--image",
        &image_tag(),
        "--image-pull-policy",
        "Never",
    ]);
    assert!(!ok && err.contains("violates PodSecurity"), "{err}");

    let (pod_security, container_security) = operator_security();
    assert_eq!(container_security["readOnlyRootFilesystem"], json!(true));
    assert_eq!(pod_security["runAsUser"], json!(65532));
    let t = Instant::now();
    run_restricted(
        &node,
        &client,
        "hubspot-sim",
        &image_tag(),
        json!([
            "sim",
            "hubspot",
            "--token",
            TOKEN,
            "--listen",
            format!("0.0.0.0:{PORT}")
        ]),
        PORT,
        json!({"httpGet": {"path": "/_sim/stats", "port": "p"}, "periodSeconds": 1}),
        "/tmp",
    )
    .await;
    println!(
        "Deployment Ready {:.1} s after create",
        t.elapsed().as_secs_f64()
    );

    // By its Service's DNS name, from inside the node's namespace (cluster DNS, kube-proxy).
    let host = format!("hubspot-sim.{NS}.svc.cluster.local");
    let resolved = exec_ok(&node, &["getent", "hosts", &host]);
    let service_ip = resolved
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        service_ip.starts_with("10.96."),
        "{host} resolved to {resolved:?}"
    );
    let base = format!("http://{host}:{PORT}");
    // kube-proxy programs the Service's rules shortly after its endpoint is ready.
    let t = Instant::now();
    let mut last = String::new();
    for _ in 0..60 {
        let out = node.exec(&[
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "2",
            &format!("{base}/_sim/stats"),
        ]);
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if last == "200" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(last, "200", "the Service never answered by its DNS name");
    println!(
        "Service answered by its DNS name {:.1} s after the Deployment was Ready",
        t.elapsed().as_secs_f64()
    );
    let body = json!({"inputs": [{"idProperty": "email", "id": "ada@example.com",
                                  "properties": {"firstname": "Ada"}}]})
    .to_string();
    let unauthorized = exec_ok(
        &node,
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data",
            &body,
            &format!("{base}/crm/v3/objects/contacts/batch/upsert"),
        ],
    );
    assert_eq!(unauthorized, "401", "a request without the token");
    let upserted = exec_ok(
        &node,
        &[
            "curl",
            "-sf",
            "--max-time",
            "10",
            "-X",
            "POST",
            "-H",
            &format!("authorization: Bearer {TOKEN}"),
            "-H",
            "content-type: application/json",
            "--data",
            &body,
            &format!("{base}/crm/v3/objects/contacts/batch/upsert"),
        ],
    );
    let upserted: Value = serde_json::from_str(&upserted).unwrap();
    assert_eq!(upserted["status"], "COMPLETE", "{upserted}");
    let objects = exec_ok(
        &node,
        &[
            "curl",
            "-sf",
            "--max-time",
            "10",
            &format!("{base}/_sim/objects/contacts"),
        ],
    );
    let objects: Value = serde_json::from_str(&objects).unwrap();
    assert!(
        objects["results"].to_string().contains("ada@example.com"),
        "{objects}"
    );

    // The container's process, found through containerd: uid/gid 65532, no capabilities,
    // no new privileges, seccomp filtering, and a read-only root mount.
    let (pod_name, pid) = container_of(&node, &client, "app=hubspot-sim").await;
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.starts_with("/usr/local/bin/syncline\0sim\0hubspot"),
        "{cmdline:?}"
    );
    assert_eq!(proc_status(pid, "Uid"), format!("{UID} {UID} {UID} {UID}"));
    assert_eq!(proc_status(pid, "Gid"), format!("{UID} {UID} {UID} {UID}"));
    assert_eq!(proc_status(pid, "CapEff"), "0000000000000000");
    assert_eq!(proc_status(pid, "CapBnd"), "0000000000000000");
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    assert_eq!(proc_status(pid, "Seccomp"), "2");
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let root = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no / in the container's mountinfo:\n{mountinfo}"));
    let options: Vec<&str> = root.split(' ').nth(5).unwrap().split(',').collect();
    assert!(
        options.contains(&"ro"),
        "root mount is not read-only: {root}"
    );
    // Even root cannot write there through the container's root; its /tmp (emptyDir) it can.
    let write = std::fs::write(format!("/proc/{pid}/root/probe"), b"x");
    assert_eq!(
        write.as_ref().map_err(|e| e.raw_os_error()),
        Err(Some(30)),
        "writing to the container's root filesystem: {write:?} (want EROFS)"
    );
    std::fs::write(format!("/proc/{pid}/root/tmp/probe"), b"x")
        .expect("the container's /tmp (emptyDir) is writable");

    // `kubectl exec` (API server → kubelet → containerd) of a syncline subcommand, no shell.
    let (ok, version, err) = node.kubectl(&[
        "-n",
        NS,
        "exec",
        &pod_name,
        "--",
        "/usr/local/bin/syncline",
        "--version",
    ]);
    assert!(ok, "kubectl exec: {err}");
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");

    // The chart's optional Redis (redis.enabled), from its image (Debian's redis-server,
    // scripts/image.sh --redis): a StatefulSet under the restricted standard, its
    // append-only file on an emptyDir, reached by its Service's name with redis-cli.
    let (repository, tag) = import_redis_image(&node);
    let rendered = std::process::Command::new(node.bins.join("helm"))
        .current_dir(repo())
        .args(["template", "syncline", "charts/syncline", "--namespace", NS])
        .args([
            "--set",
            "redis.enabled=true",
            "--set",
            "redis.image.pullPolicy=Never",
        ])
        .args(["--set", &format!("redis.image.repository={repository}")])
        .args(["--set-string", &format!("redis.image.tag={tag}")])
        .args(["--show-only", "templates/redis.yaml"])
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let manifest = node.cp_dir().join("redis.yaml");
    std::fs::write(&manifest, &rendered.stdout).unwrap();
    let t = Instant::now();
    let (ok, _, err) = node.kubectl(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(ok, "applying the chart's Redis: {err}");
    let (ok, _, err) = node.kubectl(&[
        "-n",
        NS,
        "rollout",
        "status",
        "statefulset/syncline-redis",
        "--timeout=120s",
    ]);
    if !ok {
        let (_, pods, _) = node.kubectl(&["-n", NS, "get", "pods", "-o", "yaml"]);
        panic!("the chart's Redis did not become ready: {err}\n{pods}");
    }
    let redis_host = format!("syncline-redis.{NS}.svc.cluster.local");
    let mut pong = String::new();
    // The rollout is done when the pod is Ready; kube-proxy's rules follow shortly.
    for _ in 0..60 {
        let out = node.exec(&["redis-cli", "-h", &redis_host, "ping"]);
        pong = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if pong == "PONG" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(pong, "PONG", "Redis never answered by its DNS name");
    exec_ok(
        &node,
        &["redis-cli", "-h", &redis_host, "set", "probe", "42"],
    );
    let got = exec_ok(&node, &["redis-cli", "-h", &redis_host, "get", "probe"]);
    assert_eq!(got.trim(), "42");
    let aof = exec_ok(
        &node,
        &[
            "redis-cli",
            "-h",
            &redis_host,
            "config",
            "get",
            "appendonly",
        ],
    );
    assert_eq!(
        aof.split_whitespace().collect::<Vec<_>>(),
        ["appendonly", "yes"]
    );
    println!(
        "the chart's Redis Ready and answering by name {:.1} s after apply",
        t.elapsed().as_secs_f64()
    );
    let (_, redis_pid) = container_of(&node, &client, "app.kubernetes.io/component=redis").await;
    assert_eq!(
        proc_status(redis_pid, "Uid"),
        format!("{UID} {UID} {UID} {UID}")
    );
    assert_eq!(proc_status(redis_pid, "CapEff"), "0000000000000000");

    // Status tells the truth about real pods: an operator whose image the node does not
    // have (pull policy IfNotPresent, no registry) reports the pods' own reason.
    pods_that_cannot_start_say_why(&node, &client).await;

    // While the node runs, the root namespace has gained nothing.
    let during = host_snapshot();
    let changed = diff("while the node runs", &before, &during, false);
    println!(
        "kubelet's sysctls while the node runs: {:?}",
        during.sysctls
    );
    assert!(changed.is_empty(), "{}", changed.join("\n"));

    node.stop();
    let after = host_snapshot();
    let mut changed = diff("after down", &before, &after, true);
    if before.sysctls != after.sysctls {
        changed.push(format!(
            "sysctls not restored: before {:?}, after {:?}",
            before.sysctls, after.sysctls
        ));
    }
    if before.cgroups != after.cgroups {
        changed.push(format!(
            "cgroups left: before {:?}, after {:?}",
            before.cgroups, after.cgroups
        ));
    }
    if paths_before != host_paths() {
        changed.push(format!(
            "host paths changed: before {paths_before:?}, after {:?}",
            host_paths()
        ));
    }
    assert!(changed.is_empty(), "{}", changed.join("\n"));
    assert!(
        KUBELET_SYSCTLS
            .iter()
            .all(|s| before.sysctls.iter().any(|(n, _)| n == s)),
        "every kubelet sysctl was recorded: {:?}",
        before.sysctls
    );
    println!("test took {:.1} s", test_started.elapsed().as_secs_f64());
}

/// The operator (a local process, through the loopback forwarder) runs a pipeline whose
/// image is not on the node: `WorkersAvailable` and `ReceiverAvailable` are False with the
/// kubelet's reason (`ErrImagePull`/`ImagePullBackOff`) in the message, and `Ready` says so.
async fn pods_that_cannot_start_say_why(node: &Node, client: &kube::Client) {
    use syncline::api::SyncPipeline;
    support::install_crd(client).await;
    Api::namespaced(client.clone(), NS)
        .create(
            &PostParams::default(),
            &support::pipelines::secret("acme-credentials", "s"),
        )
        .await
        .unwrap();
    let operator = support::operator::OperatorProcess::start(
        &node.host_kubeconfig,
        "real-node-operator",
        &[
            "--image",
            "localhost/syncline:not-on-this-node",
            "--resync",
            "2s",
        ],
    );
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let pipeline =
        support::pipelines::pipeline("acme", "acme-credentials", "redis://127.0.0.1:1", "Retain");
    pipelines
        .create(&PostParams::default(), &pipeline)
        .await
        .unwrap();
    let t = Instant::now();
    let mut last = String::new();
    let mut said = None;
    while t.elapsed() < Duration::from_secs(120) {
        let p = pipelines.get("acme").await.unwrap();
        let conditions = p.status.map(|s| s.conditions).unwrap_or_default();
        let message = |type_: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == type_ && c.status == "False")
                .map(|c| c.message.clone())
        };
        last = format!("{conditions:?}");
        if let (Some(workers), Some(receiver)) =
            (message("WorkersAvailable"), message("ReceiverAvailable"))
        {
            let pulled = |m: &str| m.contains("ErrImagePull") || m.contains("ImagePullBackOff");
            if pulled(&workers) && pulled(&receiver) {
                said = Some(workers);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let workers = said.unwrap_or_else(|| panic!("no pod reason in the conditions: {last}"));
    assert!(
        workers.contains("localhost/syncline:not-on-this-node"),
        "{workers}"
    );
    println!(
        "WorkersAvailable names the pods' reason {:.1} s after the pipeline was created: {workers}",
        t.elapsed().as_secs_f64()
    );
    pipelines.delete("acme", &Default::default()).await.unwrap();
    drop(operator);
}
