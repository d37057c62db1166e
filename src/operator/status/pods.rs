//! A Deployment as its condition sees it, and why its pods are not available, in their
//! own words, for the
//! `ReceiverAvailable`/`WorkersAvailable` messages: a container waiting on an image it may
//! not pull (`ErrImageNeverPull`, `ImagePullBackOff`), crash-looping, or refused its
//! config; a pod the scheduler cannot place; or the ReplicaSet refused pods outright (a
//! ResourceQuota, an admission webhook), which the Deployment reports as `ReplicaFailure`.
//! Pure: reconcile lists the pods only while a Deployment is unavailable.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

use super::{Cond, reason};

/// Waiting reasons that mean the pod will not become ready by waiting.
const STUCK: [&str; 9] = [
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreCreateHookError",
];

/// Longest message a pod or the API may contribute (kubelet messages can be long).
const MESSAGE_LIMIT: usize = 200;

fn short(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > MESSAGE_LIMIT {
        let cut: String = trimmed.chars().take(MESSAGE_LIMIT).collect();
        format!("{cut}…")
    } else {
        trimmed.to_owned()
    }
}

/// The Deployment's own account of refused pods (`ReplicaFailure`), if any.
pub fn replica_failure(d: &Deployment) -> Option<String> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        .map(|c| {
            let reason = c.reason.as_deref().unwrap_or("ReplicaFailure");
            format!("{reason}: {}", short(c.message.as_deref().unwrap_or("")))
        })
}

/// The first pod problem among `pods`, as `pod <name>: <container> <Reason>: <message>`,
/// with how many pods share that reason.
pub fn pod_trouble(pods: &[Pod]) -> Option<String> {
    let mut found: Vec<(String, String)> = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(status) = &pod.status else { continue };
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        let waiting = containers.filter_map(|c| {
            let w = c.state.as_ref()?.waiting.as_ref()?;
            let reason = w.reason.as_deref()?;
            STUCK.contains(&reason).then(|| {
                let message = w.message.as_deref().map(short).unwrap_or_default();
                (
                    reason.to_owned(),
                    format!("pod {name}: container {} {reason}: {message}", c.name),
                )
            })
        });
        if let Some(hit) = waiting.into_iter().next() {
            found.push(hit);
            continue;
        }
        let unschedulable = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        });
        if let Some(c) = unschedulable {
            found.push((
                "Unschedulable".into(),
                format!(
                    "pod {name}: Unschedulable: {}",
                    short(c.message.as_deref().unwrap_or(""))
                ),
            ));
        }
    }
    let (reason, first) = found.first()?.clone();
    let same = found.iter().filter(|(r, _)| *r == reason).count();
    Some(if same > 1 {
        format!("{first} ({same} pods)")
    } else {
        first
    })
}

/// A Deployment's progress as far as conditions care.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeploymentView {
    pub wanted: i32,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    /// Why its pods are not coming up, in their own words (see `pods`), if known.
    pub trouble: Option<String>,
}

impl DeploymentView {
    pub fn of(d: &Deployment) -> Self {
        let status = d.status.clone().unwrap_or_default();
        Self {
            wanted: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            replicas: status.replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            trouble: replica_failure(d),
        }
    }

    /// Whether its pods should be looked at to say why it is unavailable.
    pub fn needs_pod_reasons(&self) -> bool {
        !self.is_available() && self.trouble.is_none()
    }

    fn is_available(&self) -> bool {
        self.wanted == 0 || self.available >= 1
    }
}

pub(super) fn deployment_condition(
    type_: &'static str,
    what: &str,
    view: &Option<DeploymentView>,
    secret_ok: bool,
) -> Cond {
    match view {
        None if !secret_ok => Cond {
            type_,
            holds: false,
            reason: reason::WAITING_FOR_SECRET,
            message: format!("the {what} Deployment is not created until the Secret is resolved"),
        },
        None => Cond {
            type_,
            holds: false,
            reason: reason::DEPLOYMENT_UNAVAILABLE,
            message: format!("the {what} Deployment does not exist yet"),
        },
        Some(v) if v.wanted == 0 => Cond {
            type_,
            holds: true,
            reason: reason::SCALED_TO_ZERO,
            message: format!("no {what} pods are wanted"),
        },
        Some(v) if v.is_available() => Cond {
            type_,
            holds: true,
            reason: reason::DEPLOYMENT_AVAILABLE,
            message: format!("{} of {} {what} pods available", v.available, v.wanted),
        },
        Some(v) => Cond {
            type_,
            holds: false,
            reason: reason::DEPLOYMENT_UNAVAILABLE,
            message: match &v.trouble {
                Some(trouble) => format!(
                    "{} of {} {what} pods available; {trouble}",
                    v.available, v.wanted
                ),
                None => format!("{} of {} {what} pods available", v.available, v.wanted),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name}, "status": status})).unwrap()
    }

    fn waiting(reason: &str, message: &str) -> serde_json::Value {
        json!({"containerStatuses": [{"name": "syncline", "image": "i", "imageID": "",
            "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason, "message": message}}}]})
    }

    #[test]
    fn stuck_containers_and_unschedulable_pods_in_their_own_words() {
        let never = pod(
            "acme-worker-1",
            waiting(
                "ErrImageNeverPull",
                "Container image \"localhost/syncline:9\" is not present with pull policy of Never",
            ),
        );
        let also = pod("acme-worker-2", waiting("ErrImageNeverPull", "same"));
        let starting = pod("acme-worker-3", waiting("ContainerCreating", ""));
        let trouble = pod_trouble(&[starting.clone(), never, also]).unwrap();
        assert_eq!(
            trouble,
            "pod acme-worker-1: container syncline ErrImageNeverPull: Container image \"localhost/syncline:9\" is not present with pull policy of Never (2 pods)"
        );
        // Merely starting is no trouble.
        assert_eq!(pod_trouble(&[starting]), None);
        let crash = pod(
            "w",
            waiting(
                "CrashLoopBackOff",
                "back-off 10s restarting failed container",
            ),
        );
        assert!(
            pod_trouble(&[crash])
                .unwrap()
                .contains("CrashLoopBackOff: back-off 10s")
        );
        let pending = pod(
            "w",
            json!({"conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}),
        );
        assert_eq!(
            pod_trouble(&[pending]).unwrap(),
            "pod w: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."
        );
        let long = pod("w", waiting("ImagePullBackOff", &"x".repeat(500)));
        assert!(pod_trouble(&[long]).unwrap().chars().count() < 300);
    }

    #[test]
    fn a_quota_refusal_is_read_from_the_deployment() {
        let d: Deployment = serde_json::from_value(json!({"status": {"conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"acme-worker-5d9\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"}]}}))
        .unwrap();
        assert_eq!(
            replica_failure(&d).unwrap(),
            "FailedCreate: pods \"acme-worker-5d9\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"
        );
        assert_eq!(replica_failure(&Deployment::default()), None);
    }
}
