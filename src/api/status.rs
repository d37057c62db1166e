//! What the operator reports back on a SyncPipeline.
//!
//! Conditions follow the Kubernetes API conventions: `Ready` summarises the others, each
//! `reason` is a stable CamelCase word that alerts and scripts may match on, and
//! `lastTransitionTime` moves only when a condition's status flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a SyncPipeline.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncPipelineStatus {
    /// The metadata.generation this status describes; older means the operator has not yet
    /// acted on the latest spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, SecretResolved, ReceiverAvailable, WorkersAvailable, ScalingActive, Paused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The in-cluster URL to register as the store's webhook endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,

    /// Worker pods: current, ready and wanted by the lag-based scaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkersStatus>,

    /// The queue as last sampled from Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueStatus>,

    /// When the reconciliation poller last finished a cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_time: Option<Time>,
}

/// Worker replica counts.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkersStatus {
    /// Pods the worker Deployment has.
    #[serde(default)]
    pub replicas: i32,
    /// Pods ready to work.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Pods the scaler wants from the current lag.
    #[serde(default)]
    pub desired_replicas: i32,
}

/// Queue figures.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Events enqueued but not yet delivered to a worker.
    #[serde(default)]
    pub lag: i64,
    /// Events delivered to a worker and not yet acknowledged.
    #[serde(default)]
    pub pending: i64,
    /// Events that failed permanently and wait for a replay.
    #[serde(default)]
    pub dead_letters: i64,
    /// When these figures were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_at: Option<Time>,
}

/// Condition types, as they appear in `status.conditions[].type`.
pub mod condition {
    pub const READY: &str = "Ready";
    pub const SECRET_RESOLVED: &str = "SecretResolved";
    pub const RECEIVER_AVAILABLE: &str = "ReceiverAvailable";
    pub const WORKERS_AVAILABLE: &str = "WorkersAvailable";
    pub const SCALING_ACTIVE: &str = "ScalingActive";
    pub const PAUSED: &str = "Paused";
}
