//! Real servers for integration tests: a Kubernetes control plane on loopback, built from
//! Go modules by scripts/k8s-bins.sh and started by scripts/control-plane.sh.
//!
//! A missing binary is a failure, never a skip: CI must prove the tests ran against the
//! real API server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding the Go-built control-plane binaries.
pub fn k8s_bins() -> PathBuf {
    cached_bins("k8s-bins.sh", "control-plane")
}

/// The cache folder `scripts/<script> --print` names; fails with the command to run.
pub fn cached_bins(script: &str, what: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("scripts").join(script))
        .arg("--print")
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "the {what} binaries are not built: run `scripts/{script}` (or `bash .ci/run`) first\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Which control plane to start.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// etcd + kube-apiserver: CRDs, CEL, RBAC, status; no pods.
    ApiOnly,
    /// KWOK: controller-manager, scheduler and one fake node, so Deployments get ready Pods
    /// and ownerReference garbage collection runs.
    Kwok,
}

/// A running control plane; dropped, it is torn down. A watchdog in control-plane.sh also
/// tears it down if this test process dies without unwinding.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub bins: PathBuf,
}

impl ControlPlane {
    pub fn start(mode: Mode) -> Self {
        let bins = k8s_bins();
        let dir = tempfile::Builder::new()
            .prefix("syncline-cp-")
            .tempdir()
            .unwrap();
        let cp_dir = dir.path().join("cp");
        let arg = match mode {
            Mode::ApiOnly => "api",
            Mode::Kwok => "kwok",
        };
        let out = Command::new("bash")
            .arg(repo().join("scripts/control-plane.sh"))
            .arg(arg)
            .arg(&cp_dir)
            .arg(std::process::id().to_string())
            .output()
            .expect("running scripts/control-plane.sh");
        assert!(
            out.status.success(),
            "the {mode:?} control plane did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kubeconfig = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        Self {
            dir,
            kubeconfig,
            bins,
        }
    }

    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// Runs the real kubectl against this control plane; returns (success, stdout, stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(self.bins.join("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("running kubectl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("scripts/control-plane.sh"))
            .arg("down")
            .arg(self.dir.path().join("cp"))
            .status();
    }
}

pub mod helm;
pub mod hubspot;
pub mod node;
pub mod operator;
pub mod orders;
pub mod pipelines;
pub mod procfs;
pub mod redis;
pub mod run;
pub mod stores;

/// Installs the checked-in CRD and waits until it is served.
pub async fn install_crd(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, PostParams};
    use kube::runtime::wait::{await_condition, conditions};
    let text = std::fs::read_to_string(repo().join(syncline::api::CRD_PATH)).unwrap();
    let crd: CustomResourceDefinition = serde_yaml::from_str(&text).unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &crd).await.unwrap();
    let established = await_condition(
        api,
        "syncpipelines.syncline.dev",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(std::time::Duration::from_secs(30), established)
        .await
        .expect("CRD not Established within 30 s")
        .unwrap();
}

/// Polls `check` every 200 ms until it returns `Some`, or panics with `what` after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

impl ControlPlane {
    /// A kubeconfig that authenticates as a service account (bound by deploy/rbac.yaml),
    /// so tests prove the operator works with exactly the RBAC it ships.
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> PathBuf {
        let (ok, token, err) =
            self.kubectl(&["create", "token", name, "-n", namespace, "--duration", "1h"]);
        assert!(ok, "kubectl create token: {err}");
        let (ok, raw, err) = self.kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "-o",
            "json",
        ]);
        assert!(ok, "kubectl config view: {err}");
        let mut kc: serde_json::Value = serde_json::from_str(&raw).unwrap();
        kc["users"] = serde_json::json!([{"name": "sa", "user": {"token": token.trim()}}]);
        kc["contexts"][0]["context"]["user"] = "sa".into();
        let path = self.dir.path().join(format!("kubeconfig-{name}"));
        std::fs::write(&path, serde_json::to_string(&kc).unwrap()).unwrap();
        path
    }
}
