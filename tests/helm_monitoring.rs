//! The chart's monitoring: a ServiceMonitor (operator), a PodMonitor (every pipeline's
//! receiver and worker pods) and a PrometheusRule, rendered only when the cluster serves
//! monitoring.coreos.com/v1 or when forced; on a real API server without the Prometheus
//! Operator's CRDs `helm install` renders none, with them (from the Go module, fetched by
//! scripts/prom-crds.sh) they are rendered and accepted under strict field validation.
//! The rules pass `promtool check rules` and fire as tests/fixtures/alerts.promtool.yaml
//! expects (`promtool test rules`; promtool built by scripts/promtool.sh). The Grafana
//! dashboard ConfigMap renders only when enabled, for the sidecar.

mod support;

use std::process::Command;

use serde_json::Value;
use support::helm::{CHART, documents, helm, kinds, template};
use support::{ControlPlane, Mode, eventually};
use syncline::api::SyncPipeline;
use syncline::operator::resources::{BuildInputs, receiver_deployment, worker_deployment};

const MONITORING: [&str; 3] = ["PodMonitor", "PrometheusRule", "ServiceMonitor"];
const API: &str = "monitoring.coreos.com/v1";

fn monitoring_kinds(docs: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = kinds(docs)
        .into_iter()
        .filter(|k| MONITORING.contains(&k.as_str()))
        .collect();
    k.sort();
    k
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

#[test]
fn monitoring_renders_with_the_api_or_when_forced_and_carries_the_extra_labels() {
    assert!(monitoring_kinds(&template(&[])).is_empty(), "auto, no API");
    let docs = template(&[
        "--api-versions",
        API,
        "--set",
        "monitoring.labels.release=kps",
    ]);
    assert_eq!(monitoring_kinds(&docs), MONITORING);
    for kind in MONITORING {
        let d = find(&docs, kind);
        assert_eq!(d["metadata"]["labels"]["release"], "kps", "{kind}");
        assert_eq!(d["metadata"]["namespace"], "shops", "{kind}");
    }
    let forced = template(&["--set", "monitoring.enabled=true"]);
    assert_eq!(monitoring_kinds(&forced), MONITORING);
    let off = template(&["--api-versions", API, "--set", "monitoring.enabled=false"]);
    assert!(monitoring_kinds(&off).is_empty(), "false wins over the API");
    let parts = template(&[
        "--api-versions",
        API,
        "--set",
        "metricsService.enabled=false",
        "--set",
        "monitoring.rules.enabled=false",
    ]);
    assert_eq!(monitoring_kinds(&parts), ["PodMonitor"]);

    // The operator's ServiceMonitor selects the metrics Service and keeps the pipelines'
    // own namespace label.
    let sm = find(&docs, "ServiceMonitor");
    let svc = docs
        .iter()
        .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "syncline-operator-metrics")
        .expect("the metrics Service");
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&svc["metadata"]["labels"][k], v, "Service label {k}");
    }
    assert_eq!(
        sm["spec"]["endpoints"][0]["port"],
        svc["spec"]["ports"][0]["name"]
    );
    assert_eq!(sm["spec"]["endpoints"][0]["honorLabels"], true);
}

/// Whether `selector` (matchLabels and matchExpressions `In`) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let by_label = selector["matchLabels"]
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| &labels[k] == v));
    let by_expression = selector["matchExpressions"].as_array().is_some_and(|all| {
        all.iter().all(|e| {
            assert_eq!(e["operator"], "In");
            e["values"]
                .as_array()
                .unwrap()
                .contains(&labels[e["key"].as_str().unwrap()])
        })
    });
    by_label && by_expression
}

#[test]
fn the_pod_monitor_scrapes_the_operators_receiver_and_worker_pods_and_labels_the_pipeline() {
    let text =
        std::fs::read_to_string(support::repo().join("examples/valid/shopify.yaml")).unwrap();
    let mut pipeline: SyncPipeline = documents(&text)
        .into_iter()
        .find(|d| d["kind"] == "SyncPipeline")
        .map(|d| serde_json::from_value(d).unwrap())
        .unwrap();
    pipeline.metadata.uid = Some("0000-uid".into());
    pipeline.metadata.namespace = Some("shops".into());
    let inputs = BuildInputs {
        image: "syncline:test".into(),
        secret_checksum: "x".into(),
        worker_replicas: 1,
    };
    let docs = template(&["--api-versions", API]);
    let pm = find(&docs, "PodMonitor");
    assert_eq!(pm["spec"]["namespaceSelector"]["any"], true);
    let endpoint = &pm["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["path"], "/metrics");
    for deployment in [
        receiver_deployment(&pipeline, &inputs, "c").unwrap(),
        worker_deployment(&pipeline, &inputs, "c").unwrap(),
    ] {
        let pod = serde_json::to_value(deployment.spec.unwrap().template).unwrap();
        let labels = &pod["metadata"]["labels"];
        assert!(selects(&pm["spec"]["selector"], labels), "{labels}");
        let ports = &pod["spec"]["containers"][0]["ports"];
        assert!(
            ports
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == endpoint["port"]),
            "the pod serves /metrics on the port the PodMonitor names: {ports}"
        );
    }
    let operator = find(&docs, "Deployment");
    let labels = &operator["spec"]["template"]["metadata"]["labels"];
    assert!(
        !selects(&pm["spec"]["selector"], labels),
        "not the operator's pods"
    );
    let relabel = endpoint["relabelings"].as_array().unwrap();
    let target = |label: &str| {
        relabel
            .iter()
            .find(|r| r["targetLabel"] == label)
            .map(|r| r["sourceLabels"][0].clone())
    };
    assert_eq!(
        target("pipeline"),
        Some("__meta_kubernetes_pod_label_app_kubernetes_io_instance".into())
    );
}

#[test]
fn the_dashboard_config_map_renders_only_when_enabled_with_the_sidecar_label() {
    let cm = |docs: &[Value]| {
        docs.iter()
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "syncline-dashboard")
            .cloned()
    };
    assert!(cm(&template(&[])).is_none(), "off by default");
    let docs = template(&[
        "--set",
        "dashboard.enabled=true",
        "--set",
        "dashboard.namespace=grafana",
    ]);
    let cm = cm(&docs).expect("the dashboard ConfigMap");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(cm["metadata"]["namespace"], "grafana");
    let dashboard: Value = serde_json::from_str(cm["data"]["syncline.json"].as_str().unwrap())
        .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().unwrap();
    let expr_of = |title: &str| -> String {
        let panel = panels
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        let targets = panel["targets"].as_array().unwrap();
        targets
            .iter()
            .map(|t| t["expr"].as_str().unwrap())
            .collect()
    };
    for (title, metric) in [
        ("Lag", "syncline_queue_lag"),
        ("Drain estimate", "syncline_queue_drain_seconds"),
        ("Events in", "syncline_receiver_requests_total"),
        ("Events out", "syncline_worker_events_total"),
        ("CRM budget use", "syncline_worker_crm_observed_limit"),
        ("CRM 429s", "syncline_worker_crm_rate_limited_total"),
        ("Dead letters", "syncline_queue_dead_letters"),
        ("Workers desired vs ready", "syncline_workers_ready"),
        ("Poll age", "syncline_poller_last_poll_timestamp_seconds"),
    ] {
        let expr = expr_of(title);
        assert!(expr.contains(metric), "{title}: {expr}");
        assert!(
            expr.contains("pipeline=~\"$pipeline\""),
            "{title} per pipeline: {expr}"
        );
    }
}

/// The folder of the Prometheus Operator's CRDs; fails with the command to run.
fn crds() -> std::path::PathBuf {
    support::cached_bins("prom-crds.sh", "Prometheus Operator CRD")
}

#[tokio::test]
async fn on_a_real_api_server_monitoring_appears_with_the_prometheus_operator_crds() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let ns = "syncline-system";
    let install = [
        "upgrade",
        "--install",
        "syncline",
        CHART,
        "-n",
        ns,
        "--create-namespace",
    ];
    helm(&cp, &install);
    let manifest = helm(&cp, &["get", "manifest", "syncline", "-n", ns]);
    assert!(
        monitoring_kinds(&documents(&manifest)).is_empty(),
        "no CRDs, no monitoring objects:\n{manifest}"
    );

    let dir = crds();
    let dir = dir.to_str().unwrap();
    let (ok, out, err) = cp.kubectl(&["apply", "--server-side", "-f", dir]);
    assert!(ok, "{out}{err}");
    for crd in ["servicemonitors", "podmonitors", "prometheusrules"] {
        let crd = format!("crd/{crd}.monitoring.coreos.com");
        let established = r#"jsonpath={.status.conditions[?(@.type=="Established")].status}"#;
        eventually(30, &format!("{crd} Established"), || async {
            let (_, out, _) = cp.kubectl(&["get", &crd, "-o", established]);
            (out == "True").then_some(())
        })
        .await;
    }

    // Strict field validation: a misspelt field of the Prometheus Operator's schema fails.
    let rendered = helm(
        &cp,
        &[
            "template",
            "syncline",
            CHART,
            "-n",
            ns,
            "--api-versions",
            API,
        ],
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &rendered).unwrap();
    let path = file.path().to_str().unwrap();
    let args = ["apply", "--dry-run=server", "--validate=strict", "-f", path];
    let (ok, out, err) = cp.kubectl(&args);
    assert!(ok, "the API server refuses the rendered chart: {out}{err}");

    helm(&cp, &install);
    let manifest = helm(&cp, &["get", "manifest", "syncline", "-n", ns]);
    assert_eq!(monitoring_kinds(&documents(&manifest)), MONITORING);
    let (ok, out, err) = cp.kubectl(&[
        "get",
        "servicemonitors,podmonitors,prometheusrules",
        "-n",
        ns,
        "-o",
        "name",
    ]);
    assert!(ok, "{err}");
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "podmonitor.monitoring.coreos.com/syncline-pipelines",
            "prometheusrule.monitoring.coreos.com/syncline",
            "servicemonitor.monitoring.coreos.com/syncline-operator",
        ]
    );
    let (ok, out, _) = cp.kubectl(&["get", "prometheusrule", "syncline", "-n", ns, "-o", "json"]);
    assert!(ok);
    let stored: Value = serde_json::from_str(&out).unwrap();
    let alerts = stored["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .count();
    assert_eq!(alerts, 9, "every alert stored");
}

#[test]
fn the_alerts_pass_promtool_fire_on_the_pipeline_in_trouble_and_name_their_runbook_section() {
    let docs = template(&["--api-versions", API]);
    let rule = find(&docs, "PrometheusRule");
    let runbook = std::fs::read_to_string(support::repo().join("docs/runbook.md")).unwrap();
    for group in rule["spec"]["groups"].as_array().unwrap() {
        for r in group["rules"].as_array().unwrap() {
            let alert = r["alert"].as_str().unwrap();
            let anchor = alert.to_lowercase();
            assert!(
                r["annotations"]["runbook_url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("#{anchor}")),
                "{alert}"
            );
            let description = r["annotations"]["description"].as_str().unwrap();
            assert!(
                description.contains(&format!("docs/runbook.md, {alert}")),
                "{alert}"
            );
            assert!(
                runbook.contains(&format!("\n## {alert}\n")),
                "docs/runbook.md lacks ## {alert}"
            );
        }
    }
    let promtool = support::cached_bins("promtool.sh", "promtool").join("promtool");
    let dir = tempfile::tempdir().unwrap();
    let promtool_in = |args: &[&str]| {
        let out = Command::new(&promtool)
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("running promtool");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
        text
    };
    let mut groups = serde_json::json!({ "groups": rule["spec"]["groups"] });
    std::fs::write(dir.path().join("rules.json"), groups.to_string()).unwrap();
    let checked = promtool_in(&["check", "rules", "rules.json"]);
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");

    // Behaviour: tests/fixtures/alerts.promtool.yaml feeds series in and expects each alert
    // on the pipeline in trouble only. Annotations are left out there (checked above).
    for group in groups["groups"].as_array_mut().unwrap() {
        for r in group["rules"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("annotations");
        }
    }
    std::fs::write(dir.path().join("rules.json"), groups.to_string()).unwrap();
    let cases = support::repo().join("tests/fixtures/alerts.promtool.yaml");
    std::fs::copy(cases, dir.path().join("alerts.yaml")).unwrap();
    let tested = promtool_in(&["test", "rules", "alerts.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}
