//! Where a pipeline's records go: the CRM and how store records map onto it (part of the
//! SyncPipeline spec; see spec.rs).

use std::collections::BTreeMap;

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where records go.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("isURL(self.url) && url(self.url).getScheme() in ['http', 'https'] && url(self.url).getHostname() != ''")
        .message("spec.crm.url must be an absolute http(s) URL, such as https://api.hubapi.com")
        .field_path(".url"),
)]
pub struct CrmSpec {
    /// The CRM platform. Only hubspot today.
    pub platform: CrmPlatform,

    /// The CRM API base URL.
    #[serde(default = "default_crm_url")]
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,

    /// Names the CRM account for the shared rate limit: every pipeline with the same account
    /// draws on one request budget. Defaults to the pipeline's namespace/name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._:/-]{1,128}$"))]
    pub account: Option<String>,

    /// How store records become HubSpot deals: the deal pipeline, the stage of each order
    /// status, and when an open checkout counts as abandoned.
    #[serde(default)]
    pub hubspot: HubspotOptions,
}

/// HubSpot deal mapping.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.dealStages) || self.dealStages.all(k, k in ['pending', 'authorized', 'paid', 'processing', 'onHold', 'completed', 'cancelled', 'refunded', 'failed'])")
        .message("spec.crm.hubspot.dealStages keys must be order statuses: pending, authorized, paid, processing, onHold, completed, cancelled, refunded, failed")
        .field_path(".dealStages"),
)]
pub struct HubspotOptions {
    /// The deal pipeline orders and abandoned checkouts are written to (`default` is
    /// HubSpot's built-in sales pipeline).
    #[serde(default = "default_deal_pipeline")]
    #[schemars(length(min = 1, max = 100))]
    pub deal_pipeline: String,

    /// Deal stage id per order status, overriding the defaults (pending →
    /// appointmentscheduled, authorized → qualifiedtobuy, onHold → decisionmakerboughtin,
    /// paid/processing/completed → closedwon, cancelled/refunded/failed → closedlost).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 9))]
    pub deal_stages: BTreeMap<String, String>,

    /// Deal stage id of an abandoned checkout.
    #[serde(default = "default_abandoned_stage")]
    #[schemars(length(min = 1, max = 100))]
    pub abandoned_stage: String,

    /// How long after its last update an open checkout counts as abandoned (Go-style
    /// duration such as 1h or 30m).
    #[serde(default = "default_abandoned_after")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"), length(max = 32))]
    pub abandoned_after: String,
}

impl Default for HubspotOptions {
    fn default() -> Self {
        Self {
            deal_pipeline: default_deal_pipeline(),
            deal_stages: BTreeMap::new(),
            abandoned_stage: default_abandoned_stage(),
            abandoned_after: default_abandoned_after(),
        }
    }
}

/// Supported CRM platforms.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CrmPlatform {
    Hubspot,
}

fn default_deal_pipeline() -> String {
    "default".into()
}
fn default_abandoned_stage() -> String {
    "appointmentscheduled".into()
}
fn default_abandoned_after() -> String {
    "1h".into()
}
fn default_crm_url() -> String {
    "https://api.hubapi.com".into()
}
