//! Real servers for integration tests: a Kubernetes control plane on loopback, built from
//! Go modules by scripts/k8s-bins.sh and started by scripts/control-plane.sh.
//!
//! A missing binary is a failure, never a skip: CI must prove the tests ran against the
//! real API server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::config::{KubeConfigOptions, Kubeconfig};

pub mod redis;

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding the Go-built control-plane binaries.
pub fn k8s_bins() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("scripts/k8s-bins.sh"))
        .arg("--print")
        .output()
        .expect("running scripts/k8s-bins.sh");
    assert!(
        out.status.success(),
        "the control-plane binaries are not built: run `scripts/k8s-bins.sh` (or `bash .ci/run`) first\n{}",
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
