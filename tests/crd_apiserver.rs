//! The checked-in CRD against a real kube-apiserver: it installs, every valid example is
//! accepted, every invalid example is rejected with the message it is annotated with, and
//! `kubectl get sp` shows the documented columns.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{ControlPlane, Mode, repo};
use syncline::api::{
    ObjectKind, QueueStatus, StorePlatform, SyncPipeline, SyncPipelineStatus, WorkersStatus,
    condition,
};

const NS: &str = "shops";
const EXPECTED_ERROR: &str = "syncline.dev/expected-error";
const UPDATE_OF: &str = "syncline.dev/update-of";

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples in {dir}");
    files
}

fn annotation<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc["metadata"]["annotations"][key].as_str()
}

/// Installs the checked-in CRD (the file is what users apply) and the test namespace.
async fn install_crd(client: &kube::Client) {
    support::install_crd(client).await;
    let ns: Api<Namespace> = Api::all(client.clone());
    let ns_obj = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    ns.create(&PostParams::default(), &ns_obj).await.unwrap();
}

fn pipelines(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), NS, &ApiResource::erase::<SyncPipeline>(&()))
}

async fn create(client: &kube::Client, doc: &Value) -> Result<(), kube::Error> {
    match doc["kind"].as_str() {
        Some("Secret") => {
            let secret: Secret = serde_json::from_value(doc.clone()).unwrap();
            Api::<Secret>::namespaced(client.clone(), NS)
                .create(&PostParams::default(), &secret)
                .await
                .map(drop)
        }
        Some("SyncPipeline") => {
            let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
            pipelines(client)
                .create(&PostParams::default(), &obj)
                .await
                .map(drop)
        }
        other => panic!("unexpected kind {other:?} in examples"),
    }
}

fn assert_rejected(result: Result<(), kube::Error>, expected: &str, file: &Path) {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{}: {}", file.display(), status.message);
            assert!(
                status.message.contains(expected),
                "{}: the API server said\n  {}\nbut the example expects\n  {expected}",
                file.display(),
                status.message
            );
        }
        Err(other) => panic!("{}: unexpected error {other}", file.display()),
        Ok(()) => panic!(
            "{}: accepted, but must fail with: {expected}",
            file.display()
        ),
    }
}

#[tokio::test]
async fn crd_accepts_valid_and_rejects_invalid_examples() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = cp.client().await;
    install_crd(&client).await;

    let mut valid_names = BTreeMap::new();
    for file in yaml_files("examples/valid") {
        for doc in yaml_docs(&file) {
            if let Err(e) = create(&client, &doc).await {
                panic!("{}: valid example rejected: {e}", file.display());
            }
            if doc["kind"] == "SyncPipeline" {
                let name = doc["metadata"]["name"].as_str().unwrap().to_string();
                valid_names.insert(
                    name,
                    doc["spec"]["store"]["platform"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    assert!(
        valid_names.len() >= 3,
        "one valid example per store platform"
    );

    let mut checked = 0;
    for file in yaml_files("examples/invalid") {
        let doc = yaml_docs(&file).remove(0);
        let expected = annotation(&doc, EXPECTED_ERROR)
            .unwrap_or_else(|| panic!("{} lacks the {EXPECTED_ERROR} annotation", file.display()));
        let result = match annotation(&doc, UPDATE_OF) {
            None => create(&client, &doc).await,
            Some(_base) => {
                let name = doc["metadata"]["name"].as_str().unwrap();
                assert!(
                    valid_names.contains_key(name),
                    "{}: base pipeline {name} missing",
                    file.display()
                );
                let patch = json!({"spec": doc["spec"]});
                pipelines(&client)
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(drop)
            }
        };
        assert_rejected(result, expected, &file);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} invalid examples");

    // Nothing invalid was stored: exactly the valid pipelines exist.
    let stored = pipelines(&client).list(&Default::default()).await.unwrap();
    let mut names: Vec<_> = stored
        .items
        .iter()
        .map(|o| o.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, valid_names.keys().cloned().collect::<Vec<_>>());

    // The immutability rule does not block ordinary updates.
    let ok = json!({"spec": {"polling": {"interval": "2m"}}});
    pipelines(&client)
        .patch("corner-shop", &PatchParams::default(), &Patch::Merge(&ok))
        .await
        .expect("changing the poll interval must be allowed");
}

/// The CRD's rule on `spec.objects` and `StorePlatform::supports` agree: for every
/// platform the API server admits exactly the object kinds the poller and connectors handle.
#[tokio::test]
async fn the_crd_admits_exactly_the_kinds_each_platform_supports() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = cp.client().await;
    install_crd(&client).await;
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let mut platforms = Vec::new();
    for file in yaml_files("examples/valid") {
        for mut doc in yaml_docs(&file) {
            if doc["kind"] != "SyncPipeline" {
                continue;
            }
            let platform =
                StorePlatform::parse(doc["spec"]["store"]["platform"].as_str().unwrap()).unwrap();
            platforms.push(platform);
            for kind in ObjectKind::ALL {
                doc["spec"]["objects"] = json!([kind.as_str()]);
                let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
                let admitted = pipelines(&client).create(&dry_run, &obj).await;
                assert_eq!(
                    admitted.is_ok(),
                    platform.supports(kind),
                    "{}: {kind:?} on {platform:?}: {:?}",
                    file.display(),
                    admitted.err()
                );
            }
        }
    }
    for platform in StorePlatform::ALL {
        assert!(
            platforms.contains(&platform),
            "no valid example for {platform:?}"
        );
    }
}

#[tokio::test]
async fn kubectl_shows_the_documented_columns_and_descriptions() {
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = cp.client().await;
    install_crd(&client).await;
    for doc in yaml_docs(&repo().join("examples/valid/shopify.yaml")) {
        create(&client, &doc).await.unwrap();
    }

    // Write a status the way the operator will, through the status subresource.
    let status = SyncPipelineStatus {
        observed_generation: Some(1),
        conditions: vec![Condition {
            type_: condition::READY.into(),
            status: "True".into(),
            reason: "PipelineRunning".into(),
            message: "receiver and workers are available".into(),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::now()),
            observed_generation: Some(1),
        }],
        workers: Some(WorkersStatus {
            replicas: 3,
            ready_replicas: 3,
            desired_replicas: 3,
            pending_scale_down: None,
        }),
        queue: Some(QueueStatus {
            lag: 1200,
            drain_seconds: Some(40),
            ..Default::default()
        }),
        ..Default::default()
    };
    let typed: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    typed
        .patch_status(
            "acme-shopify",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
        .unwrap();

    let (ok, out, err) = cp.kubectl(&["get", "sp", "-n", NS]);
    assert!(ok, "kubectl get sp failed: {err}");
    let mut lines = out.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "STORE", "CRM", "WORKERS", "DESIRED", "LAG", "DRAIN", "READY", "AGE"
        ]
    );
    let row: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        row[..8],
        [
            "acme-shopify",
            "shopify",
            "hubspot",
            "3",
            "3",
            "1200",
            "40",
            "True"
        ],
        "{out}"
    );

    // The category and the short name both resolve.
    let (ok, out, err) = cp.kubectl(&["get", "syncline", "-n", NS, "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "syncpipeline.syncline.dev/acme-shopify");

    // Doc comments reach `kubectl explain`.
    let (ok, out, err) = cp.kubectl(&["explain", "sp.spec.polling.interval"]);
    assert!(ok, "{err}");
    assert!(out.contains("At least 10s"), "{out}");

    // Defaults are applied by the API server, so what users read back is complete.
    let stored = typed.get("acme-shopify").await.unwrap();
    assert_eq!(stored.spec.crm.url, "https://api.hubapi.com");
    let woo: Value = serde_json::from_str(
        &cp.kubectl(&["get", "sp", "-n", NS, "acme-shopify", "-o", "json"])
            .1,
    )
    .unwrap();
    assert_eq!(woo["spec"]["crmRateLimit"]["perSeconds"], 10);
}
