//! The Helm chart in charts/syncline: its CRD and RBAC are the generated ones (one source
//! for kubectl and Helm users), `helm lint` passes, and `helm install` on a real cluster
//! brings up the operator under the `restricted` Pod Security Standard; values change what
//! they say, and the optional bundled Redis renders only when enabled, restricted, on an
//! emptyDir or a claim.

mod support;

use support::helm::{CHART, field, helm, template, wait_for_field};
use support::{ControlPlane, Mode};

const NS: &str = "syncline-system";

fn read(path: &str) -> String {
    std::fs::read_to_string(support::repo().join(path)).unwrap()
}

#[test]
fn the_chart_ships_the_generated_crd_and_rbac() {
    assert_eq!(
        read("charts/syncline/crds/syncpipeline.yaml"),
        read("crds/syncpipeline.yaml"),
        "copy crds/syncpipeline.yaml into charts/syncline/crds/"
    );
    assert_eq!(
        read("charts/syncline/templates/rbac.yaml"),
        syncline::operator::rbac::render("{{ .Release.Namespace }}").unwrap(),
        "regenerate: syncline rbac --namespace '{{{{ .Release.Namespace }}}}' > charts/syncline/templates/rbac.yaml"
    );
}

const OPERATOR: [&str; 4] = ["deploy", "syncline-operator", "-n", NS];

/// A field of the operator Deployment, by JSONPath.
fn operator_field(cp: &ControlPlane, jsonpath: &str) -> String {
    field(cp, &OPERATOR, jsonpath)
}

#[tokio::test]
async fn helm_install_upgrade_and_uninstall_on_a_real_cluster() {
    let cp = ControlPlane::start(Mode::Kwok);
    let lint = helm(&cp, &["lint", CHART]);
    assert!(lint.contains("0 chart(s) failed"), "{lint}");

    // The namespace enforces the restricted Pod Security Standard, as deploy/ ships it.
    let ns = support::repo().join("deploy/namespace.yaml");
    let (ok, out, err) = cp.kubectl(&["apply", "-f", ns.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    helm(
        &cp,
        &[
            "install",
            "syncline",
            CHART,
            "-n",
            NS,
            "--wait",
            "--timeout",
            "90s",
        ],
    );
    let (ok, _, err) = cp.kubectl(&[
        "wait",
        "--for",
        "condition=Established",
        "crd/syncpipelines.syncline.dev",
        "--timeout=30s",
    ]);
    assert!(ok, "{err}");
    wait_for_field(&cp, &OPERATOR, "{.status.readyReplicas}", "2");
    let args = operator_field(&cp, "{.spec.template.spec.containers[0].args}");
    assert!(args.contains("--leader-election"), "{args}");
    let (_, events, _) = cp.kubectl(&["get", "events", "-n", NS]);
    assert!(!events.contains("violates PodSecurity"), "{events}");
    let (ok, _, _) = cp.kubectl(&[
        "auth",
        "can-i",
        "patch",
        "syncpipelines.syncline.dev/status",
        "-A",
        &format!("--as=system:serviceaccount:{NS}:syncline-operator"),
    ]);
    assert!(ok, "the chart's RBAC lets the operator write status");

    helm(
        &cp,
        &[
            "upgrade",
            "syncline",
            CHART,
            "-n",
            NS,
            "--set",
            "replicas=1",
            "--set",
            "leaderElection.enabled=false",
            "--set",
            "image.tag=0.2.0",
        ],
    );
    wait_for_field(&cp, &OPERATOR, "{.spec.replicas}", "1");
    let spec = operator_field(
        &cp,
        "{.spec.template.spec.containers[0].args} {.spec.template.spec.containers[0].image}",
    );
    assert!(!spec.contains("--leader-election"), "{spec}");
    assert!(spec.ends_with("ghcr.io/syncline/syncline:0.2.0"), "{spec}");

    helm(&cp, &["uninstall", "syncline", "-n", NS, "--wait"]);
    let (_, left, _) = cp.kubectl(&["get", "deploy,svc,sa", "-n", NS, "-o", "name"]);
    assert!(!left.contains("syncline-operator"), "{left}");
}

/// `helm template` of the chart with `sets` (each a `--set`).
fn render(sets: &[&str]) -> Vec<serde_json::Value> {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", *s]).collect();
    template(&args)
}

fn redis_statefulset(docs: &[serde_json::Value]) -> Option<&serde_json::Value> {
    docs.iter()
        .find(|d| d["kind"] == "StatefulSet" && d["metadata"]["name"] == "syncline-redis")
}

#[test]
fn the_bundled_redis_is_off_by_default_restricted_and_on_a_claim_with_a_storage_class() {
    let docs = render(&[]);
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["name"] != "syncline-redis"),
        "no Redis unless redis.enabled"
    );

    let docs = render(&["redis.enabled=true"]);
    let sts = redis_statefulset(&docs).expect("the Redis StatefulSet");
    let pod = &sts["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--appendonly", "yes"]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--appendfsync", "everysec"]),
        "{args:?}"
    );
    assert_eq!(pod["volumes"][0]["emptyDir"], serde_json::json!({}));
    assert!(sts["spec"]["volumeClaimTemplates"].is_null());
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Service" && d["metadata"]["name"] == "syncline-redis"),
        "the Redis Service"
    );

    let docs = render(&[
        "redis.enabled=true",
        "redis.storageClass=fast",
        "redis.storageSize=5Gi",
    ]);
    let sts = redis_statefulset(&docs).expect("the Redis StatefulSet");
    assert!(sts["spec"]["template"]["spec"]["volumes"].is_null());
    let claim = &sts["spec"]["volumeClaimTemplates"][0];
    assert_eq!(claim["metadata"]["name"], "data");
    assert_eq!(claim["spec"]["storageClassName"], "fast");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "5Gi");
}

fn network_policy<'a>(docs: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    docs.iter()
        .find(|d| d["kind"] == "NetworkPolicy" && d["metadata"]["name"] == name)
}

/// The TCP and UDP ports of a policy's egress rules, as `protocol/port`.
fn egress_ports(policy: &serde_json::Value) -> Vec<String> {
    policy["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
        .map(|p| format!("{}/{}", p["protocol"].as_str().unwrap(), p["port"]))
        .collect()
}

/// Asserts the operator Deployment of `docs` runs with `arg`.
fn assert_operator_arg(docs: &[serde_json::Value], arg: &str) {
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(
        args.as_array().unwrap().iter().any(|a| a == arg),
        "no {arg} in {args}"
    );
}

#[test]
fn network_policies_are_on_by_default_and_follow_their_values() {
    let docs = render(&[]);
    let operator = network_policy(&docs, "syncline-operator").expect("the operator's policy");
    assert_eq!(
        operator["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        "operator"
    );
    assert_eq!(
        egress_ports(operator),
        ["UDP/53", "TCP/53", "TCP/443", "TCP/6443", "TCP/6379"]
    );
    assert_eq!(operator["spec"]["ingress"][0]["ports"][0]["port"], 8081);
    assert_operator_arg(&docs, "--network-policies=true");
    assert!(network_policy(&docs, "syncline-redis").is_none());

    let docs = render(&[
        "redis.enabled=true",
        "networkPolicies.redisPorts={6380}",
        "networkPolicies.apiServerPorts={8443}",
    ]);
    let operator = network_policy(&docs, "syncline-operator").unwrap();
    assert_eq!(
        egress_ports(operator),
        ["UDP/53", "TCP/53", "TCP/8443", "TCP/6380"]
    );
    let redis = network_policy(&docs, "syncline-redis").expect("the bundled Redis's policy");
    let from = &redis["spec"]["ingress"][0]["from"][0];
    assert_eq!(from["namespaceSelector"], serde_json::json!({}));
    assert_eq!(
        from["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "syncline"
    );
    assert_eq!(redis["spec"]["egress"], serde_json::json!([]));

    let docs = render(&["networkPolicies.enabled=false"]);
    assert!(docs.iter().all(|d| d["kind"] != "NetworkPolicy"));
    assert_operator_arg(&docs, "--network-policies=false");
}
