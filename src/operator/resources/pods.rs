//! The pod template both data-plane roles share: non-root, read-only root filesystem, no
//! capabilities, RuntimeDefault seccomp, no service-account token, secrets only as env from
//! secretKeyRef, the pipeline config mounted read-only, and health probes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    BuildInputs, CONFIG_CHECKSUM, PIPELINE_FILE, SECRET_CHECKSUM, config_map_name, labels,
};
use crate::api::SyncPipeline;
use crate::config::SecretKey;

/// The unprivileged user the pods run as (the conventional "nonroot" uid of distroless).
pub const RUN_AS_USER: i64 = 65532;
const CONFIG_DIR: &str = "/etc/syncline";

/// One role's container and pod settings.
pub struct PodParams<'a> {
    pub component: &'a str,
    pub args: Vec<String>,
    pub port: i32,
    pub secret_keys: Vec<SecretKey>,
    pub resources: ResourceRequirements,
    pub grace_seconds: i64,
    pub lifecycle: Option<k8s_openapi::api::core::v1::Lifecycle>,
    /// The path the readiness probe asks.
    pub readiness_path: &'static str,
}

/// Default requests and limits; memory is limited (a leak must not take the node), CPU is
/// only requested so spikes can borrow idle cores.
pub fn default_resources(cpu: &str, memory: &str, memory_limit: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_string(),
            Quantity(memory_limit.into()),
        )])),
        ..Default::default()
    }
}

fn probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn secret_env(secret: &str, keys: &[SecretKey]) -> Vec<EnvVar> {
    keys.iter()
        .map(|k| EnvVar {
            name: k.env_var(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.to_string(),
                    key: k.name().to_string(),
                    optional: k.optional().then_some(true),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// The pod's own name, then the log level, then the Secret keys the role reads.
fn role_env(secret: &str, keys: &[SecretKey]) -> Vec<EnvVar> {
    let mut env = vec![
        EnvVar {
            name: "SYNCLINE_POD_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.name".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        EnvVar {
            name: "RUST_LOG".into(),
            value: Some("info".into()),
            ..Default::default()
        },
    ];
    env.extend(secret_env(secret, keys));
    env
}

/// What the restricted Pod Security Standard asks of a container: no privilege
/// escalation, no capabilities, non-root; the root filesystem is read-only too (the one
/// writable place is the `/tmp` volume).
fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod-level half of the restricted standard: a fixed non-root user and the
/// runtime's default seccomp profile.
fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        fs_group: Some(RUN_AS_USER),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The rendered pipeline (read-only, from the ConfigMap) and a small scratch `/tmp`: the
/// volumes and where the container mounts them.
fn volumes(pipeline: &str) -> (Vec<Volume>, Vec<VolumeMount>) {
    let volumes = vec![
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map_name(pipeline),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let mounts = vec![
        VolumeMount {
            name: "config".into(),
            mount_path: CONFIG_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        },
    ];
    (volumes, mounts)
}

/// The pod template of one role of one pipeline.
pub fn pod_template(
    p: &SyncPipeline,
    pipeline: &str,
    inputs: &BuildInputs,
    config_checksum: &str,
    params: PodParams<'_>,
) -> PodTemplateSpec {
    let (volumes, mounts) = volumes(pipeline);
    let container = Container {
        name: params.component.to_string(),
        image: Some(inputs.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(params.args),
        env: Some(role_env(&p.spec.secret_ref.name, &params.secret_keys)),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: params.port,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        liveness_probe: Some(probe("/healthz", 10, 3)),
        readiness_probe: Some(probe(params.readiness_path, 5, 2)),
        resources: Some(params.resources),
        lifecycle: params.lifecycle,
        security_context: Some(container_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(pipeline, params.component)),
            annotations: Some(BTreeMap::from([
                (SECRET_CHECKSUM.to_string(), inputs.secret_checksum.clone()),
                (CONFIG_CHECKSUM.to_string(), config_checksum.to_string()),
            ])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            termination_grace_period_seconds: Some(params.grace_seconds),
            security_context: Some(pod_security()),
            containers: vec![container],
            volumes: Some(volumes),
            ..Default::default()
        }),
    }
}

/// The path of the rendered pipeline inside the pod.
pub fn pipeline_path() -> String {
    format!("{CONFIG_DIR}/{PIPELINE_FILE}")
}

/// The command line of a data-plane role in its pod: the rendered pipeline, listening on
/// `port` (probes and, for the receiver, webhooks).
pub fn role_args(role: &str, port: i32) -> Vec<String> {
    // One JSON object per line: what log collectors in a cluster parse.
    vec![
        role.into(),
        "--log-format=json".into(),
        "-f".into(),
        pipeline_path(),
        "--listen".into(),
        format!("0.0.0.0:{port}"),
    ]
}
