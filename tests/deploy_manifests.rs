//! The plain manifests in deploy/ install on a real API server, in the documented order,
//! and the operator Deployment's pods are admitted under the `restricted` Pod Security
//! Standard its namespace enforces.

mod support;

use support::{ControlPlane, Mode};

#[tokio::test]
async fn deploy_manifests_apply_cleanly_under_restricted_pod_security() {
    let cp = ControlPlane::start(Mode::Kwok);
    let repo = support::repo();
    for file in [
        "crds/syncpipeline.yaml",
        "deploy/namespace.yaml",
        "deploy/rbac.yaml",
        "deploy/operator.yaml",
    ] {
        let path = repo.join(file);
        let (ok, out, err) = cp.kubectl(&["apply", "-f", path.to_str().unwrap()]);
        assert!(ok, "kubectl apply -f {file} failed:\n{out}\n{err}");
    }
    // The ReplicaSet controller creates the pods; a Pod Security violation would show up as
    // a FailedCreate and no pods.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, out, _) = cp.kubectl(&[
            "get",
            "deploy",
            "syncline-operator",
            "-n",
            "syncline-system",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ]);
        if out.trim() == "2" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "operator pods not ready: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (_, events, _) = cp.kubectl(&["get", "events", "-n", "syncline-system"]);
    assert!(!events.contains("violates PodSecurity"), "{events}");
}
