//! The `SyncPipeline` custom resource: one store feeding one CRM.
//!
//! The doc comments on these types become the schema descriptions that `kubectl explain
//! syncpipeline.spec…` shows, so they are written for the platform team reading them there.
//! Validation lives in the schema itself (CEL rules and OpenAPI constraints) so that the API
//! server rejects a bad manifest at `kubectl apply` time, before the operator ever sees it.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::crm::CrmSpec;
use super::object_kind::ObjectKind;
use super::status::SyncPipelineStatus;
use super::store::StoreSpec;
use super::workers::{CrmRateLimit, WorkersSpec};

/// Desired state of one store-to-CRM sync pipeline.
// clippy reads the repeated `type_ = …` keys of separate printcolumn(...) groups as
// duplicated attributes; they are distinct columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "syncline.dev",
    version = "v1alpha1",
    kind = "SyncPipeline",
    plural = "syncpipelines",
    singular = "syncpipeline",
    shortname = "sp",
    category = "syncline",
    namespaced,
    status = "SyncPipelineStatus",
    derive = "PartialEq",
    // MAX_PIPELINE_NAME (src/operator/resources): the longest child name,
    // `<name>-receiver`, must stay a valid 63-character DNS label. (A fieldPath may not
    // point into metadata, so the message names the field.)
    validation = Rule::new("self.metadata.name.size() <= 54")
        .message("metadata.name: at most 54 characters, so that <name>-receiver (the longest child name) fits the 63-character limit of Kubernetes names"),
    doc = "SyncPipeline runs one store-to-CRM sync: a webhook receiver, queue workers that write to the CRM, and a reconciliation poller.",
    printcolumn(
        name = "Store",
        type_ = "string",
        json_path = ".spec.store.platform",
        description = "Store platform"
    ),
    printcolumn(
        name = "CRM",
        type_ = "string",
        json_path = ".spec.crm.platform",
        description = "CRM platform"
    ),
    printcolumn(
        name = "Workers",
        type_ = "integer",
        json_path = ".status.workers.readyReplicas",
        description = "Ready worker pods"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.workers.desiredReplicas",
        description = "Worker pods the scaler wants"
    ),
    printcolumn(
        name = "Lag",
        type_ = "integer",
        json_path = ".status.queue.lag",
        description = "Events waiting in the queue"
    ),
    printcolumn(
        name = "Drain",
        type_ = "integer",
        json_path = ".status.queue.drainSeconds",
        description = "Seconds to empty the queue at the recent drain rate"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the pipeline is syncing"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
// The API server's copy of `StorePlatform::supports`; tests/crd_apiserver.rs checks that
// it admits exactly what that method allows.
#[x_kube(
    validation = Rule::new("self.store.platform == 'shopify' || !('carts' in self.objects)")
        .message("spec.objects: carts (abandoned checkouts) is supported only when spec.store.platform is shopify")
        .field_path(".objects"),
)]
#[serde(rename_all = "camelCase")]
pub struct SyncPipelineSpec {
    /// The online store that events come from.
    pub store: StoreSpec,

    /// The CRM that records are written to.
    pub crm: CrmSpec,

    /// The Secret (in the pipeline's namespace) holding the credentials: webhookSecret,
    /// webhookSecretPrevious (optional, for rotation), storeToken or
    /// storeConsumerKey/storeConsumerSecret, crmToken, redisUrl (optional) and redisCaCert
    /// (optional: the PEM CA of a privately signed rediss:// server).
    pub secret_ref: SecretRef,

    /// Which kinds of record to sync. Defaults to customers, orders and products; carts
    /// (abandoned checkouts) must be asked for and need a Shopify store.
    #[serde(default = "default_objects")]
    #[schemars(length(min = 1, max = 4))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub objects: Vec<ObjectKind>,

    /// The reconciliation poll that catches whatever webhooks missed.
    #[serde(default)]
    pub polling: PollingSpec,

    /// The Redis that holds the pipeline's queue, dedupe markers and cursors.
    #[serde(default)]
    pub redis: RedisSpec,

    /// The webhook receiver Deployment.
    #[serde(default)]
    pub receiver: ReceiverSpec,

    /// The worker Deployment, scaled from queue lag between minReplicas and maxReplicas.
    #[serde(default)]
    pub workers: WorkersSpec,

    /// The CRM request budget shared by every worker of every pipeline writing to the same
    /// CRM account. Set it a little under the account's real limit.
    #[serde(default)]
    pub crm_rate_limit: CrmRateLimit,

    /// Running syncs; Paused stops workers and polling while the receiver keeps accepting
    /// webhooks into the queue, so nothing is lost while paused.
    #[serde(default)]
    pub state: PipelineState,

    /// What happens to the pipeline's Redis data (queue, dead letters, cursors) when the
    /// SyncPipeline is deleted: Retain keeps it, Delete removes it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A Secret in the pipeline's namespace.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// The Secret's name.
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
        length(min = 1, max = 253)
    )]
    pub name: String,
}

/// Reconciliation polling.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("duration(self.interval) >= duration('10s')")
        .message("spec.polling.interval must be at least 10s")
        .field_path(".interval"),
)]
pub struct PollingSpec {
    /// How often the poller reads objects updated since its cursor, as a duration such as
    /// 30s, 5m or 1h30m. At least 10s.
    #[serde(default = "default_poll_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"), length(max = 32))]
    pub interval: String,

    /// How far each poll reaches back before its cursor, so that records written late with
    /// an older timestamp are still seen.
    #[serde(default = "default_poll_lookback")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"), length(max = 32))]
    pub lookback: String,

    /// Import history once, from this RFC 3339 time on (e.g. 2026-01-01T00:00:00Z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub backfill_since: Option<String>,
}

impl Default for PollingSpec {
    fn default() -> Self {
        Self {
            interval: default_poll_interval(),
            lookback: default_poll_lookback(),
            backfill_since: None,
        }
    }
}

/// Redis connection.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.url.startsWith('redis://') || self.url.startsWith('rediss://')")
        .message("spec.redis.url must start with redis:// or rediss:// (put a password in the Secret's redisUrl, not here)")
        .field_path(".url"),
)]
pub struct RedisSpec {
    /// The Redis URL, without a password; a password-protected Redis is given by the Secret's
    /// redisUrl key instead.
    #[serde(default = "default_redis_url")]
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,
}

impl Default for RedisSpec {
    fn default() -> Self {
        Self {
            url: default_redis_url(),
        }
    }
}

/// The webhook receiver.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSpec {
    /// Receiver pods. Two or more keep webhooks flowing through a node drain.
    #[serde(default = "default_receiver_replicas")]
    #[schemars(range(min = 1, max = 50))]
    pub replicas: i32,

    /// CPU and memory for each receiver pod; sensible defaults when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for ReceiverSpec {
    fn default() -> Self {
        Self {
            replicas: default_receiver_replicas(),
            resources: None,
        }
    }
}

/// Whether a pipeline is syncing.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PipelineState {
    #[default]
    Running,
    Paused,
}

/// What deleting a SyncPipeline does to its Redis data.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    #[default]
    Retain,
    Delete,
}

fn default_objects() -> Vec<ObjectKind> {
    vec![
        ObjectKind::Customers,
        ObjectKind::Orders,
        ObjectKind::Products,
    ]
}
fn default_poll_interval() -> String {
    "5m".into()
}
fn default_poll_lookback() -> String {
    "10m".into()
}
fn default_redis_url() -> String {
    "redis://redis.syncline-system:6379".into()
}
fn default_receiver_replicas() -> i32 {
    2
}
