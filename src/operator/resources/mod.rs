//! Pure builders of the objects a SyncPipeline owns. Nothing here talks to the API server:
//! given the pipeline and what was resolved for it, they return the exact objects to apply,
//! so every production setting (labels, probes, security, resources) is unit-tested.

mod config;
mod network;
mod pods;
mod receiver;
mod worker;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;

use crate::api::SyncPipeline;

pub use config::{PIPELINE_FILE, config_map};
pub use network::{receiver_network_policy, url_port, worker_network_policy};
pub use receiver::{
    RECEIVER_PORT, receiver_deployment, receiver_pdb, receiver_service, webhook_url,
};
pub use worker::worker_deployment;

/// Annotation on pod templates: a checksum of the Secret keys the pods read.
pub const SECRET_CHECKSUM: &str = "syncline.dev/secret-checksum";
/// Annotation on pod templates: a checksum of the rendered pipeline config.
pub const CONFIG_CHECKSUM: &str = "syncline.dev/config-checksum";
/// The field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "syncline-operator";

/// What the builders need besides the pipeline itself.
#[derive(Clone, Debug)]
pub struct BuildInputs {
    /// The container image that runs `syncline receiver|worker`.
    pub image: String,
    /// Checksum of the Secret keys in use (see `operator::secret::checksum`).
    pub secret_checksum: String,
    /// Worker replicas wanted now (0 while Paused).
    pub worker_replicas: i32,
}

/// Why an object could not be built: the pipeline lacks what every object needs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("the SyncPipeline has no {0}")]
    MissingMetadata(&'static str),
    #[error("the pipeline config cannot be rendered: {0}")]
    Render(String),
    /// A NetworkPolicy opens the port a URL reaches; this field's URL names none.
    #[error("{0} has no port and no scheme with a default one (http, https, redis, rediss)")]
    NoPort(&'static str),
}

/// The longest pipeline name whose children all have valid names: `<name>-receiver` is
/// the longest and a Service name is a DNS label of at most 63 characters. The CRD's CEL
/// rule on `metadata.name` states the same figure (a test keeps them equal).
pub const MAX_PIPELINE_NAME: usize = 63 - "-receiver".len();

/// Names of the children, derived from the pipeline's name.
pub fn config_map_name(pipeline: &str) -> String {
    format!("{pipeline}-config")
}
pub fn receiver_name(pipeline: &str) -> String {
    format!("{pipeline}-receiver")
}
pub fn worker_name(pipeline: &str) -> String {
    format!("{pipeline}-worker")
}

/// The `app.kubernetes.io/*` labels that select one component of one pipeline.
pub fn selector_labels(pipeline: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "syncline".to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            pipeline.to_string(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        ),
    ])
}

/// Selector labels plus the ones that describe who manages the object.
pub fn labels(pipeline: &str, component: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(pipeline, component);
    labels.insert("app.kubernetes.io/part-of".into(), "syncline".into());
    labels.insert("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into());
    labels.insert(
        "app.kubernetes.io/version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    labels
}

pub(crate) fn name_and_namespace(p: &SyncPipeline) -> Result<(&str, &str), BuildError> {
    let name = p
        .metadata
        .name
        .as_deref()
        .ok_or(BuildError::MissingMetadata("metadata.name"))?;
    let ns = p
        .metadata
        .namespace
        .as_deref()
        .ok_or(BuildError::MissingMetadata("metadata.namespace"))?;
    Ok((name, ns))
}

/// Metadata of a child: name, namespace, labels and the controller owner reference, so
/// deleting the pipeline garbage-collects it.
pub(crate) fn child_meta(
    p: &SyncPipeline,
    name: String,
    component: &str,
) -> Result<ObjectMeta, BuildError> {
    let (pipeline, ns) = name_and_namespace(p)?;
    let mut owner: OwnerReference = p
        .controller_owner_ref(&())
        .ok_or(BuildError::MissingMetadata("metadata.uid"))?;
    // Foreground deletion of the pipeline waits for its children.
    owner.block_owner_deletion = Some(true);
    Ok(ObjectMeta {
        name: Some(name),
        namespace: Some(ns.to_string()),
        labels: Some(labels(pipeline, component)),
        owner_references: Some(vec![owner]),
        ..Default::default()
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::api::SyncPipeline;

    /// A valid example pipeline as the API server would hand it to the operator.
    pub fn pipeline(file: &str) -> SyncPipeline {
        let mut p = crate::api::examples::pipeline(file);
        p.metadata.namespace = Some("shops".into());
        p.metadata.uid = Some("3f1c5e0a-0000-4000-8000-000000000001".into());
        p.metadata.generation = Some(1);
        p
    }

    pub fn inputs() -> super::BuildInputs {
        super::BuildInputs {
            image: "registry.example/syncline:0.1.0".into(),
            secret_checksum: "abc123".into(),
            worker_replicas: 1,
        }
    }
}

#[cfg(test)]
mod tests;
