//! The receiver's Deployment, Service and PodDisruptionBudget.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Lifecycle, LifecycleHandler, Service, ServicePort, ServiceSpec, SleepAction,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pods::{PodParams, default_resources, pod_template, role_args};
use super::{
    BuildError, BuildInputs, child_meta, name_and_namespace, receiver_name, selector_labels,
};
use crate::api::SyncPipeline;
use crate::config::{Role, SecretKey};

/// The port the receiver listens on, in the pod and on its Service.
pub const RECEIVER_PORT: i32 = 8080;
const COMPONENT: &str = "receiver";

/// The receiver Deployment. Rolling updates never drop below the wanted replicas
/// (maxUnavailable 0), and a short preStop sleep lets endpoints stop routing to a pod
/// before it is told to stop, so no webhook meets a closed port.
pub fn receiver_deployment(
    p: &SyncPipeline,
    inputs: &BuildInputs,
    config_checksum: &str,
) -> Result<Deployment, BuildError> {
    let (name, _) = name_and_namespace(p)?;
    let params = PodParams {
        component: COMPONENT,
        args: role_args("receiver", RECEIVER_PORT),
        port: RECEIVER_PORT,
        secret_keys: SecretKey::read_by_role(Role::Receiver, &p.spec),
        resources: p
            .spec
            .receiver
            .resources
            .clone()
            .unwrap_or_else(|| default_resources("100m", "64Mi", "256Mi")),
        grace_seconds: 30,
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction { seconds: 5 }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // Not /readyz (which asks Redis): every receiver of a pipeline shares its Redis, so
        // while it is down they would all leave the Service together and stores would meet
        // refused connections instead of a 503 with Retry-After that they retry and that the
        // receiver counts. The operator's `RedisUnreachable` condition tells that story.
        readiness_path: "/healthz",
    };
    Ok(Deployment {
        metadata: child_meta(p, receiver_name(name), COMPONENT)?,
        spec: Some(DeploymentSpec {
            replicas: Some(p.spec.receiver.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            revision_history_limit: Some(3),
            template: pod_template(p, name, inputs, config_checksum, params),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Service stores post webhooks to.
pub fn receiver_service(p: &SyncPipeline) -> Result<Service, BuildError> {
    let (name, _) = name_and_namespace(p)?;
    Ok(Service {
        metadata: child_meta(p, receiver_name(name), COMPONENT)?,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(name, COMPONENT)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: RECEIVER_PORT,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A PodDisruptionBudget keeping all but one receiver up through drains; only when there
/// is more than one replica (with one, it would block every drain).
pub fn receiver_pdb(p: &SyncPipeline) -> Result<Option<PodDisruptionBudget>, BuildError> {
    if p.spec.receiver.replicas <= 1 {
        return Ok(None);
    }
    let (name, _) = name_and_namespace(p)?;
    Ok(Some(PodDisruptionBudget {
        metadata: child_meta(p, receiver_name(name), COMPONENT)?,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

/// The in-cluster URL to register as the store's webhook endpoint.
pub fn webhook_url(p: &SyncPipeline) -> Result<String, BuildError> {
    let (name, ns) = name_and_namespace(p)?;
    Ok(format!(
        "http://{}.{ns}.svc:{RECEIVER_PORT}/webhooks/{}",
        receiver_name(name),
        p.spec.store.platform.as_str()
    ))
}
