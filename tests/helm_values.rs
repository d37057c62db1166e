//! charts/syncline/values.schema.json: every value of values.yaml is typed and described,
//! and `helm lint`, `helm template` and `helm install` (on a real API server) refuse a wrong
//! value with a message naming it, while the defaults lint and install.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::Value;
use support::helm::{CHART, helm, refused, run};
use support::{ControlPlane, Mode};

fn schema() -> Value {
    let text = std::fs::read_to_string(support::repo().join(CHART).join("values.schema.json"))
        .expect("charts/syncline/values.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Every key of `values` (a mapping of values.yaml) has a described, typed property in
/// `schema`; maps the schema leaves open (labels, annotations, resources' entries) stop
/// the walk. Collects the paths that do not.
fn undescribed(values: &Value, schema: &Value, path: &str, missing: &mut Vec<String>) {
    let Some(map) = values.as_object() else {
        return;
    };
    for (key, value) in map {
        let at = format!("{path}/{key}");
        let Some(prop) = schema["properties"].get(key) else {
            missing.push(format!("{at}: no property"));
            continue;
        };
        if prop["description"].as_str().is_none_or(str::is_empty) {
            missing.push(format!("{at}: no description"));
        }
        if prop.get("type").is_none() && prop.get("enum").is_none() {
            missing.push(format!("{at}: no type"));
        }
        if prop.get("properties").is_some() {
            assert_eq!(
                prop["additionalProperties"], false,
                "{at}: a misspelt key below it must be refused"
            );
            undescribed(value, prop, &at, missing);
        }
    }
}

#[test]
fn the_schema_types_and_describes_every_value_and_refuses_unknown_keys() {
    let schema = schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let text = std::fs::read_to_string(support::repo().join(CHART).join("values.yaml")).unwrap();
    let values: Value = serde_yaml::from_str(&text).unwrap();
    let mut missing = Vec::new();
    undescribed(&values, &schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "values.yaml vs the schema: {missing:#?}"
    );
}

/// Wrong values and the words the refusal must contain: the value's path and what is wrong.
const WRONG: &[(&str, &[&str])] = &[
    ("replicas=two", &["/replicas", "want integer"]),
    ("replica=2", &["'replica' not allowed"]),
    ("logFormat=xml", &["/logFormat", "'text', 'json'"]),
    (
        "monitoring.enabled=maybe",
        &["/monitoring/enabled", "'auto'"],
    ),
    (
        "redis.storagSize=5Gi",
        &["/redis", "'storagSize' not allowed"],
    ),
    ("resync=5", &["/resync", "want string"]),
    (
        "leaderElection.leaseDuration=15 seconds",
        &["/leaderElection/leaseDuration"],
    ),
    ("image.pullPolicy=Sometimes", &["/image/pullPolicy"]),
];

fn assert_names(what: &str, set: &str, out: &str, words: &[&str]) {
    for word in words {
        assert!(
            out.contains(word),
            "{what} --set {set}: no {word:?} in\n{out}"
        );
    }
}

#[test]
fn helm_lint_and_template_refuse_wrong_values_by_name_and_pass_the_defaults() {
    let (ok, lint) = run(None, &["lint", CHART]);
    assert!(ok && lint.contains("0 chart(s) failed"), "{lint}");
    let (ok, out) = run(None, &["template", "syncline", CHART]);
    assert!(ok, "{out}");
    for (set, words) in WRONG {
        let out = refused(None, &["lint", CHART, "--set", set]);
        assert_names("helm lint", set, &out, words);
        assert!(out.contains("1 chart(s) failed"), "{out}");
        let out = refused(None, &["template", "syncline", CHART, "--set", set]);
        assert_names("helm template", set, &out, words);
    }
}

#[tokio::test]
async fn helm_install_refuses_a_wrong_value_and_installs_the_defaults() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let install = [
        "install",
        "syncline",
        CHART,
        "-n",
        "syncline-system",
        "--create-namespace",
    ];
    for (set, words) in &WRONG[..3] {
        let mut args = install.to_vec();
        args.extend(["--set", set]);
        let out = refused(Some(&cp), &args);
        assert_names("helm install", set, &out, words);
    }
    let (_, list) = run(Some(&cp), &["list", "-A", "-q"]);
    assert!(
        list.trim().is_empty(),
        "a refused install left a release: {list}"
    );
    let (ok, _, err) = cp.kubectl(&[
        "get",
        "deploy",
        "syncline-operator",
        "-n",
        "syncline-system",
    ]);
    assert!(!ok, "a refused install created the operator");
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );

    helm(&cp, &install);
    let deployments: Api<Deployment> = Api::namespaced(cp.client().await, "syncline-system");
    let operator = deployments.get("syncline-operator").await.unwrap();
    let replicas = operator.spec.and_then(|s| s.replicas);
    assert_eq!(replicas, Some(2), "the default replicas");
}
