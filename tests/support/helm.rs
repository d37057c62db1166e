//! The real helm (built by scripts/k8s-bins.sh) on the chart in charts/syncline: against a
//! test control plane, or offline (`helm template`, `helm lint`).

use std::process::Command;

use super::ControlPlane;

pub const CHART: &str = "charts/syncline";

/// Runs helm in the repository, against `cp` if given: (success, stdout + stderr).
pub fn run(cp: Option<&ControlPlane>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(super::k8s_bins().join("helm"));
    cmd.current_dir(super::repo());
    if let Some(cp) = cp {
        cmd.arg("--kubeconfig").arg(&cp.kubeconfig);
    }
    let out = cmd.args(args).output().expect("running helm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs helm against `cp` and asserts it succeeded; its output.
pub fn helm(cp: &ControlPlane, args: &[&str]) -> String {
    let (ok, text) = run(Some(cp), args);
    assert!(ok, "helm {args:?} failed:\n{text}");
    text
}

/// Runs helm and asserts it failed; its output (the error).
pub fn refused(cp: Option<&ControlPlane>, args: &[&str]) -> String {
    let (ok, text) = run(cp, args);
    assert!(!ok, "helm {args:?} succeeded, want a refusal:\n{text}");
    text
}

/// `helm template` of the chart in namespace `shops` with extra `args`, one JSON value per
/// rendered document.
pub fn template(args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["template", "syncline", CHART, "--namespace", "shops"];
    all.extend_from_slice(args);
    let (ok, text) = run(None, &all);
    assert!(ok, "helm {all:?}:\n{text}");
    documents(&text)
}

/// The YAML documents of `text` as JSON values (empty ones dropped).
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|doc| serde_json::Value::deserialize(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// The kinds of `docs`, in order.
pub fn kinds(docs: &[serde_json::Value]) -> Vec<String> {
    docs.iter()
        .filter_map(|d| d["kind"].as_str().map(str::to_string))
        .collect()
}

/// `kubectl get <what> -o jsonpath=<jsonpath>`, trimmed.
pub fn field(cp: &ControlPlane, what: &[&str], jsonpath: &str) -> String {
    let path = format!("jsonpath={jsonpath}");
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend(["-o", path.as_str()]);
    cp.kubectl(&args).1.trim().to_string()
}

/// Waits up to 90 s for `field` to read `want`.
pub fn wait_for_field(cp: &ControlPlane, what: &[&str], jsonpath: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let got = field(cp, what, jsonpath);
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what:?} {jsonpath}: got {got:?}, want {want:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
