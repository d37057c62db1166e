//! The Helm chart in charts/syncline: its CRD and RBAC are the generated ones (one source
//! for kubectl and Helm users), `helm lint` passes, and `helm install` on a real cluster
//! brings up the operator under the `restricted` Pod Security Standard; values change what
//! they say.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{ControlPlane, Mode};

const CHART: &str = "charts/syncline";
const NS: &str = "syncline-system";

fn helm(cp: &ControlPlane, args: &[&str]) -> String {
    let out = Command::new(cp.bins.join("helm"))
        .current_dir(support::repo())
        .arg("--kubeconfig")
        .arg(&cp.kubeconfig)
        .args(args)
        .output()
        .expect("running helm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm {args:?} failed:\n{text}");
    text
}

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

/// A field of the operator Deployment, by JSONPath.
fn operator_field(cp: &ControlPlane, jsonpath: &str) -> String {
    let path = format!("jsonpath={jsonpath}");
    let args = [
        "get",
        "deploy",
        "syncline-operator",
        "-n",
        NS,
        "-o",
        path.as_str(),
    ];
    cp.kubectl(&args).1.trim().to_string()
}

fn wait_for(cp: &ControlPlane, what: &str, jsonpath: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = operator_field(cp, jsonpath);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: got {got:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
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
    wait_for(&cp, "two operator pods", "{.status.readyReplicas}", "2");
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
    wait_for(&cp, "one replica", "{.spec.replicas}", "1");
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
