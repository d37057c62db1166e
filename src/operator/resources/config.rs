//! The ConfigMap holding the rendered pipeline: the same SyncPipeline manifest that
//! `syncline receiver|worker -f` reads on a laptop, so a pod and a laptop run one input.
//! It never holds secret values; those reach pods only as env from secretKeyRef.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use sha2::{Digest, Sha256};

use super::{BuildError, child_meta, config_map_name, name_and_namespace};
use crate::api::SyncPipeline;

/// The file name of the rendered pipeline inside the ConfigMap and the pod.
pub const PIPELINE_FILE: &str = "pipeline.yaml";

/// Renders the pipeline manifest the data-plane roles read, and its checksum.
pub fn config_map(p: &SyncPipeline) -> Result<(ConfigMap, String), BuildError> {
    let (name, ns) = name_and_namespace(p)?;
    // Only identity and spec: status and managed fields would change the checksum (and
    // roll pods) on every status write.
    let rendered = serde_json::json!({
        "apiVersion": "syncline.dev/v1alpha1",
        "kind": "SyncPipeline",
        "metadata": {"name": name, "namespace": ns},
        "spec": p.spec,
    });
    let yaml = serde_yaml::to_string(&rendered).map_err(|e| BuildError::Render(e.to_string()))?;
    Ok((
        ConfigMap {
            metadata: child_meta(p, config_map_name(name), "config")?,
            data: Some(BTreeMap::from([(PIPELINE_FILE.to_string(), yaml)])),
            ..Default::default()
        },
        data_plane_checksum(p)?,
    ))
}

/// Checksum of what the receiver and worker act on. Fields only the operator acts on
/// (replica counts and scaling, resources, state, deletion policy) are left out: pausing a
/// pipeline or raising maxReplicas must not roll the pods. The workers' own tunables
/// (batchSize, concurrency, maxAttempts) stay in, so changing them does roll the workers.
fn data_plane_checksum(p: &SyncPipeline) -> Result<String, BuildError> {
    let mut spec = serde_json::to_value(&p.spec).map_err(|e| BuildError::Render(e.to_string()))?;
    if let Some(map) = spec.as_object_mut() {
        for operator_only in ["receiver", "state", "deletionPolicy"] {
            map.remove(operator_only);
        }
        if let Some(workers) = map.get_mut("workers").and_then(|w| w.as_object_mut()) {
            for operator_only in [
                "minReplicas",
                "maxReplicas",
                "targetLagPerWorker",
                "scaleDownStabilizationSeconds",
                "resources",
            ] {
                workers.remove(operator_only);
            }
        }
    }
    let bytes = serde_json::to_vec(&spec).map_err(|e| BuildError::Render(e.to_string()))?;
    Ok(hex::encode(&Sha256::digest(&bytes)[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::resources::test_support::pipeline;

    #[test]
    fn renders_a_manifest_the_roles_can_read_back() {
        let p = pipeline("shopify.yaml");
        let (cm, sum) = config_map(&p).unwrap();
        assert_eq!(cm.metadata.name.as_deref(), Some("acme-shopify-config"));
        let owner = &cm.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("SyncPipeline", Some(true))
        );
        let yaml = &cm.data.as_ref().unwrap()[PIPELINE_FILE];
        let back: SyncPipeline = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(back.spec, p.spec);
        assert_eq!(back.metadata.namespace.as_deref(), Some("shops"));
        assert!(
            !yaml.contains("replace-with"),
            "secret values must never be rendered"
        );

        let mut changed = p.clone();
        changed.spec.polling.interval = "1m".into();
        assert_ne!(config_map(&changed).unwrap().1, sum);
        let mut operator_only = p.clone();
        operator_only.spec.state = crate::api::PipelineState::Paused;
        operator_only.spec.workers.max_replicas = 50;
        operator_only.spec.receiver.replicas = 3;
        assert_eq!(
            config_map(&operator_only).unwrap().1,
            sum,
            "pausing or scaling must not roll pods"
        );
        let mut tuned = p.clone();
        tuned.spec.workers.batch_size = 25;
        assert_ne!(
            config_map(&tuned).unwrap().1,
            sum,
            "workers read batchSize at start: a change must roll them"
        );
        let mut status_only = p.clone();
        status_only.status = Some(Default::default());
        assert_eq!(config_map(&status_only).unwrap().1, sum);
    }
}
