//! The workers' part of the spec: how many pods, how they scale from queue lag, how they
//! batch and retry, and the CRM request budget they share.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The workers and how they scale from queue lag.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.minReplicas <= self.maxReplicas")
        .message("spec.workers.minReplicas must be less than or equal to spec.workers.maxReplicas")
        .field_path(".minReplicas"),
)]
pub struct WorkersSpec {
    /// Fewest worker pods while Running.
    #[serde(default = "default_min_workers")]
    #[schemars(range(min = 0, max = 100))]
    pub min_replicas: i32,

    /// Most worker pods during a spike. More workers never exceed the CRM rate limit: they
    /// share one budget.
    #[serde(default = "default_max_workers")]
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,

    /// Queue lag (events waiting) that one worker is expected to keep up with; the operator
    /// asks for ceil(lag / targetLagPerWorker) workers.
    #[serde(default = "default_target_lag")]
    #[schemars(range(min = 1))]
    pub target_lag_per_worker: i64,

    /// How long lag must stay low before workers are removed, so a bursty store does not
    /// make the Deployment flap.
    #[serde(default = "default_scale_down_stabilization")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_down_stabilization_seconds: i32,

    /// Events a worker takes from the queue at once; they are coalesced per object and
    /// written with HubSpot batch calls of at most 100 inputs.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 1000))]
    pub batch_size: i32,

    /// Batches each worker pod has in flight at once. One batch at a time leaves the
    /// shared CRM budget idle while the pod waits on HubSpot's answers (a fast HubSpot
    /// still takes 100 ms or more per call); a second lane, used only while a backlog
    /// waits, keeps the budget busy. The budget caps the total whatever this is, and an
    /// object is never written by two batches at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 16))]
    pub concurrency: i32,

    /// Deliveries of an event before a transient failure (a 500, inputs HubSpot left
    /// unanswered) sends it to the dead letters. A CRM that is down or busy (429, 502-504,
    /// timeouts, connection errors) spends no attempt. Retries back off exponentially with
    /// full jitter, from 1 s to 5 min.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: i32,

    /// CPU and memory for each worker pod; sensible defaults when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for WorkersSpec {
    fn default() -> Self {
        Self {
            min_replicas: default_min_workers(),
            max_replicas: default_max_workers(),
            target_lag_per_worker: default_target_lag(),
            scale_down_stabilization_seconds: default_scale_down_stabilization(),
            batch_size: default_batch_size(),
            concurrency: default_concurrency(),
            max_attempts: default_max_attempts(),
            resources: None,
        }
    }
}

/// A request budget: `requests` per `perSeconds`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CrmRateLimit {
    /// Requests allowed in each window.
    #[serde(default = "default_rate_requests")]
    #[schemars(range(min = 1, max = 100000))]
    pub requests: i32,

    /// The window in seconds.
    #[serde(default = "default_rate_seconds")]
    #[schemars(range(min = 1, max = 86400))]
    pub per_seconds: i32,
}

impl Default for CrmRateLimit {
    fn default() -> Self {
        Self {
            requests: default_rate_requests(),
            per_seconds: default_rate_seconds(),
        }
    }
}

fn default_batch_size() -> i32 {
    100
}

fn default_concurrency() -> i32 {
    2
}

fn default_max_attempts() -> i32 {
    8
}

fn default_min_workers() -> i32 {
    1
}

fn default_max_workers() -> i32 {
    10
}

fn default_target_lag() -> i64 {
    500
}

fn default_scale_down_stabilization() -> i32 {
    300
}

fn default_rate_requests() -> i32 {
    // HubSpot's free/starter private-app limit is 100 per 10 s; stay under it.
    90
}

fn default_rate_seconds() -> i32 {
    10
}
