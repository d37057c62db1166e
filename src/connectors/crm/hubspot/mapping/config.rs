//! The mapping's tunables, from the pipeline spec; the defaults follow HubSpot's built-in
//! sales pipeline.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::OrderStatus;

/// Tunables of the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfig {
    /// The deal pipeline (`default` is HubSpot's built-in sales pipeline).
    pub pipeline: String,
    /// Deal stage of an order in each status.
    pub stages: BTreeMap<OrderStatus, String>,
    /// Deal stage of an abandoned checkout.
    pub abandoned_stage: String,
    /// How long after its last update an open checkout counts as abandoned.
    pub abandoned_after: Duration,
    /// Whether products are synced, so line items can point at them.
    pub link_products: bool,
}

impl Default for MappingConfig {
    fn default() -> Self {
        use OrderStatus::*;
        let stage = |s: &str| s.to_string();
        let stages = [
            (Pending, stage("appointmentscheduled")),
            (Authorized, stage("qualifiedtobuy")),
            (OnHold, stage("decisionmakerboughtin")),
            (Paid, stage("closedwon")),
            (Processing, stage("closedwon")),
            (Completed, stage("closedwon")),
            (Cancelled, stage("closedlost")),
            (Refunded, stage("closedlost")),
            (Failed, stage("closedlost")),
        ]
        .into_iter()
        .collect();
        Self {
            pipeline: "default".into(),
            stages,
            abandoned_stage: "appointmentscheduled".into(),
            abandoned_after: Duration::from_secs(3600),
            link_products: false,
        }
    }
}
