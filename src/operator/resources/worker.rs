//! The worker Deployment.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::pods::{PodParams, default_resources, pod_template, role_args};
use super::{
    BuildError, BuildInputs, child_meta, name_and_namespace, selector_labels, worker_name,
};
use crate::api::SyncPipeline;
use crate::config::{Role, SecretKey};

const COMPONENT: &str = "worker";
/// Workers serve health and metrics here.
pub const WORKER_PORT: i32 = 8080;

/// The worker Deployment with the replicas the operator wants now. A long grace period
/// lets a worker finish and acknowledge its current batch on SIGTERM.
pub fn worker_deployment(
    p: &SyncPipeline,
    inputs: &BuildInputs,
    config_checksum: &str,
) -> Result<Deployment, BuildError> {
    let (name, _) = name_and_namespace(p)?;
    let params = PodParams {
        component: COMPONENT,
        args: role_args("worker", WORKER_PORT),
        port: WORKER_PORT,
        secret_keys: SecretKey::read_by_role(Role::Worker, &p.spec),
        resources: p
            .spec
            .workers
            .resources
            .clone()
            .unwrap_or_else(|| default_resources("100m", "128Mi", "512Mi")),
        grace_seconds: 60,
        lifecycle: None,
        // A worker that cannot reach Redis or has no CRM schema yet consumes nothing, and
        // `WorkersAvailable` should say so.
        readiness_path: "/readyz",
    };
    Ok(Deployment {
        metadata: child_meta(p, worker_name(name), COMPONENT)?,
        spec: Some(DeploymentSpec {
            replicas: Some(inputs.worker_replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..Default::default()
            },
            revision_history_limit: Some(3),
            template: pod_template(p, name, inputs, config_checksum, params),
            ..Default::default()
        }),
        ..Default::default()
    })
}
