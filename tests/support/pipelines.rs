//! Pipelines and their Secrets for operator tests: the namespaces and shipped RBAC they
//! run in, manifests, and waiting for a condition.

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use syncline::api::SyncPipeline;

use super::{ControlPlane, eventually, install_crd};

pub const NS: &str = "shops";

pub async fn setup(cp: &ControlPlane) -> kube::Client {
    let client = cp.client().await;
    install_crd(&client).await;
    // Pipeline pods must pass the `restricted` Pod Security Standard.
    for ns in [NS, "syncline-system"] {
        let labels = json!({"pod-security.kubernetes.io/enforce": "restricted"});
        let obj: Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns, "labels": labels}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &obj)
            .await
            .unwrap();
    }
    let rbac = super::repo().join("deploy/rbac.yaml");
    let (ok, _, err) = cp.kubectl(&["apply", "-f", rbac.to_str().unwrap()]);
    assert!(ok, "applying deploy/rbac.yaml: {err}");
    client
}

pub fn secret(name: &str, webhook_secret: &str) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS},
        "stringData": {"webhookSecret": webhook_secret, "storeToken": "shpat_test", "crmToken": "pat-test"}
    }))
    .unwrap()
}

pub fn pipeline(name: &str, secret: &str, redis_url: &str, policy: &str) -> SyncPipeline {
    serde_json::from_value(json!({
        "apiVersion": "syncline.dev/v1alpha1", "kind": "SyncPipeline",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "store": {"platform": "shopify", "url": "https://acme.myshopify.com",
                      "shopify": {"shopDomain": "acme.myshopify.com"}},
            "crm": {"platform": "hubspot"},
            "secretRef": {"name": secret},
            "redis": {"url": redis_url},
            "receiver": {"replicas": 2},
            "workers": {"minReplicas": 1, "maxReplicas": 5},
            "deletionPolicy": policy
        }
    }))
    .unwrap()
}

pub async fn condition_of(
    api: &Api<SyncPipeline>,
    name: &str,
    type_: &str,
) -> Option<(String, String, String)> {
    let p = api.get_opt(name).await.ok()??;
    let c = p
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status, c.reason, c.message))
}

pub async fn wait_condition(
    api: &Api<SyncPipeline>,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> String {
    let what = format!("{name}: {type_}={status} ({reason})");
    eventually(60, &what, || async {
        match condition_of(api, name, type_).await {
            Some((s, r, m)) if s == status && r == reason => Some(m),
            _ => None,
        }
    })
    .await
}

/// Events about the pipeline `name` in NS, as (reason, note).
pub async fn pipeline_events(client: &kube::Client, name: &str) -> Vec<(String, String)> {
    use k8s_openapi::api::events::v1::Event;
    Api::<Event>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some("SyncPipeline") && r.name.as_deref() == Some(name)
            })
        })
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Creates the Secret `secret_name` (webhook secret "s") and then the pipeline `p`, in NS.
pub async fn create_with_secret(client: &kube::Client, secret_name: &str, p: &SyncPipeline) {
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret(secret_name, "s"))
        .await
        .unwrap();
    Api::<SyncPipeline>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), p)
        .await
        .unwrap();
}
