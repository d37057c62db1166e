//! Upgrading a release of the first published chart (`tests/fixtures/charts/`, packaged
//! from commit e105d69) to this one, the way docs/upgrading.md says: the new CRD applied
//! server-side first, then `helm upgrade`. A pipeline created under the old chart survives,
//! the new schema's fields are served, and the operator runs with the new chart's flags.

mod support;

use support::helm::{CHART, field as get, helm, wait_for_field as wait_for};
use support::{ControlPlane, Mode};

const NS: &str = "syncline-system";
const PREVIOUS: &str = "tests/fixtures/charts/syncline-0.1.0-e105d69.tgz";

fn pipeline(workers: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\n\
         metadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store: {{platform: woocommerce, url: https://shop.example}}\n\
         \x20 crm: {{platform: hubspot}}\n  secretRef: {{name: acme}}\n\
         \x20 redis: {{url: redis://redis.shops:6379}}\n  workers: {workers}\n"
    )
}

/// `kubectl apply` of `manifest`: (success, stdout + stderr).
fn apply(cp: &ControlPlane, dir: &std::path::Path, manifest: &str) -> (bool, String) {
    let file = dir.join("manifest.yaml");
    std::fs::write(&file, manifest).unwrap();
    let (ok, out, err) = cp.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    (ok, format!("{out}{err}"))
}

#[tokio::test]
async fn a_release_of_the_first_chart_upgrades_with_its_pipelines() {
    let cp = ControlPlane::start(Mode::Kwok);
    let dir = tempfile::tempdir().unwrap();
    let ns = support::repo().join("deploy/namespace.yaml");
    let (ok, out, err) = cp.kubectl(&["apply", "-f", ns.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let operator = ["deploy", "syncline-operator", "-n", NS];

    helm(
        &cp,
        &[
            "install",
            "syncline",
            PREVIOUS,
            "-n",
            NS,
            "--wait",
            "--timeout",
            "90s",
        ],
    );
    wait_for(&cp, &operator, "{.status.readyReplicas}", "2");
    let (ok, out, err) = cp.kubectl(&["create", "namespace", "shops"]);
    assert!(ok, "{out}{err}");
    // The old schema does not know `workers.concurrency`: kubectl's strict field
    // validation refuses it, naming the field.
    let (ok, out) = apply(
        &cp,
        dir.path(),
        &pipeline("{maxReplicas: 3, concurrency: 4}"),
    );
    assert!(!ok && out.contains("concurrency"), "{out}");
    let (ok, out) = apply(&cp, dir.path(), &pipeline("{maxReplicas: 3}"));
    assert!(ok, "a pipeline under the first chart: {out}");
    let uid = get(&cp, &["sp", "acme", "-n", "shops"], "{.metadata.uid}");

    // docs/upgrading.md: the CRD first, server-side (taking the fields over from the
    // manager `helm`: without --force-conflicts kubectl refuses), then the release.
    let crd = support::repo().join("charts/syncline/crds/syncpipeline.yaml");
    let (ok, out, err) = cp.kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        crd.to_str().unwrap(),
    ]);
    assert!(ok, "the documented CRD upgrade: {out}{err}");
    helm(
        &cp,
        &[
            "upgrade",
            "syncline",
            CHART,
            "-n",
            NS,
            "--wait",
            "--timeout",
            "90s",
        ],
    );
    wait_for(&cp, &operator, "{.status.updatedReplicas}", "2");
    let args = get(&cp, &operator, "{.spec.template.spec.containers[0].args}");
    assert!(
        args.contains("--queue-sample-interval=5s"),
        "the new chart's flags: {args}"
    );
    assert!(args.contains("--queue-status-interval=10s"), "{args}");

    // The pipeline is the same object, its spec kept, and the new field is served now.
    assert_eq!(
        get(&cp, &["sp", "acme", "-n", "shops"], "{.metadata.uid}"),
        uid
    );
    let (ok, out) = apply(
        &cp,
        dir.path(),
        &pipeline("{maxReplicas: 3, concurrency: 4}"),
    );
    assert!(ok, "the new schema: {out}");
    let workers = get(
        &cp,
        &["sp", "acme", "-n", "shops"],
        "{.spec.workers.maxReplicas} {.spec.workers.concurrency}",
    );
    assert_eq!(workers, "3 4");
}
