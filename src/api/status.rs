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

    /// Ready, SecretResolved, ReceiverAvailable, WorkersAvailable, Paused, CrmUnauthorized,
    /// ScalingActive, CrmRateLimitMismatch (docs/status.md explains each and its reasons).
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

    /// Progress of the one-off history import from `spec.polling.backfillSince`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillStatus>,

    /// The last dead-letter replay requested with the annotation
    /// `syncline.dev/replay-dead-letters`; a token recorded here is never replayed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_replay: Option<DeadLetterReplayStatus>,
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
    /// A scale-down the lag asks for, held until it has asked for fewer workers for a
    /// whole `spec.workers.scaleDownStabilizationSeconds`. Kept here so a new operator
    /// leader continues the same window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_scale_down: Option<PendingScaleDown>,
}

/// A scale-down waiting for its stabilization window.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingScaleDown {
    /// The most workers the lag asked for since `since`: where the scale-down goes.
    pub replicas: i32,
    /// When the lag first asked for fewer workers than run.
    pub since: Time,
}

/// Queue figures.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Events in the queue: waiting for a worker or being worked on (acked events are
    /// removed). The Lag column.
    #[serde(default)]
    pub lag: i64,
    /// Events delivered to a worker and not yet acknowledged.
    #[serde(default)]
    pub pending: i64,
    /// Events that failed permanently and wait for a replay.
    #[serde(default)]
    pub dead_letters: i64,
    /// Events waiting in the delayed-retry set for their next attempt.
    #[serde(default)]
    pub retries: i64,
    /// Seconds until the queue is empty at the rate the workers drained it lately (the
    /// Drain column); absent while the lag is not zero and no worker reports a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_seconds: Option<i64>,
    /// When these figures were read. Moves only when a figure changed, so an idle queue
    /// costs the API server no writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_at: Option<Time>,
}

/// How far the history import has come.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackfillStatus {
    /// Records enqueued so far, over every object type.
    #[serde(default)]
    pub imported: i64,
    /// Object types whose history is fully imported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completed_objects: Vec<String>,
    /// Whether every object type is done.
    #[serde(default)]
    pub complete: bool,
    /// When the last object type finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

/// A dead-letter replay the operator carried out for an annotation token.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterReplayStatus {
    /// The value of the `syncline.dev/replay-dead-letters` annotation that was honoured.
    pub token: String,
    /// How many dead letters went back into the events stream.
    #[serde(default)]
    pub replayed: i64,
    /// When the replay finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
}

/// Condition types, as they appear in `status.conditions[].type`.
pub mod condition {
    pub const READY: &str = "Ready";
    pub const SECRET_RESOLVED: &str = "SecretResolved";
    pub const RECEIVER_AVAILABLE: &str = "ReceiverAvailable";
    pub const WORKERS_AVAILABLE: &str = "WorkersAvailable";
    pub const SCALING_ACTIVE: &str = "ScalingActive";
    pub const PAUSED: &str = "Paused";
    /// True while workers report that the CRM refuses the pipeline's token (401/403).
    pub const CRM_UNAUTHORIZED: &str = "CrmUnauthorized";
    /// True while HubSpot's own rate-limit headers state a lower limit than
    /// `spec.crmRateLimit` declares (the workers then pace at HubSpot's figure).
    pub const CRM_RATE_LIMIT_MISMATCH: &str = "CrmRateLimitMismatch";

    /// Every condition type the operator writes, in the order it writes them (docs/status.md
    /// explains each; `tests/runbook_coverage.rs` checks it).
    pub const ALL: &[&str] = &[
        READY,
        SECRET_RESOLVED,
        RECEIVER_AVAILABLE,
        WORKERS_AVAILABLE,
        PAUSED,
        CRM_UNAUTHORIZED,
        SCALING_ACTIVE,
        CRM_RATE_LIMIT_MISMATCH,
    ];
}
