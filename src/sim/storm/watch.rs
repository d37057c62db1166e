//! The storm's live view of the pipeline it feeds: the queue's lag (from Redis, with
//! `--redis` and `--pipeline`), and from the HubSpot simulator (`--crm`) how many orders are
//! synced at the version they must end at and how many 429s the CRM has answered. Fetching
//! is at the edge; what a look means is pure.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::summary::Summary;
use crate::connectors::crm::hubspot::mapping::ORDER_KEY;
use crate::model::StoreRef;
use crate::queue::QueueKeys;
use crate::queue::admin::{RedisTarget, sample};
use crate::sim::hubspot::Stats;

/// Where the storm looks.
pub(super) struct Watch {
    pub client: reqwest::Client,
    pub crm: Option<String>,
    pub queue: Option<(RedisTarget, QueueKeys)>,
}

/// One look; a part the storm was not told where to find, or could not read, is `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Look {
    pub lag: Option<u64>,
    pub synced: Option<u64>,
    pub crm_429s: Option<u64>,
}

/// How long one look may take: the view is printed each second.
const LOOK_TIMEOUT: Duration = Duration::from_millis(800);

impl Watch {
    pub async fn look(&self, expected: &BTreeMap<u64, u32>) -> Look {
        let (lag, synced, crm_429s) =
            tokio::join!(self.lag(), self.synced(expected), self.crm_429s());
        Look {
            lag,
            synced,
            crm_429s,
        }
    }

    async fn lag(&self) -> Option<u64> {
        let (target, keys) = self.queue.as_ref()?;
        Some(sample(target, keys, LOOK_TIMEOUT).await.ok()?.lag)
    }

    /// Orders of `expected` the CRM holds at their expected version.
    pub async fn synced(&self, expected: &BTreeMap<u64, u32>) -> Option<u64> {
        let deals = self.crm_get("/_sim/objects/deals").await?;
        Some(synced(&deals, expected))
    }

    async fn crm_429s(&self) -> Option<u64> {
        let stats: Stats = serde_json::from_value(self.crm_get("/_sim/stats").await?).ok()?;
        Some(stats.answered_429())
    }

    /// One of the CRM simulator's inspection endpoints, as JSON.
    async fn crm_get(&self, path: &str) -> Option<Value> {
        let base = self.crm.as_deref()?;
        let request = self
            .client
            .get(format!("{base}{path}"))
            .timeout(LOOK_TIMEOUT);
        request.send().await.ok()?.json::<Value>().await.ok()
    }
}

/// Orders of `expected` that have a deal at exactly their expected version (the simulator
/// renders an order's version as its total, which the mapping writes as the deal amount).
pub(super) fn synced(deals: &Value, expected: &BTreeMap<u64, u32>) -> u64 {
    let mut amounts: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for deal in deals["results"].as_array().into_iter().flatten() {
        let properties = &deal["properties"];
        let id = properties[ORDER_KEY]
            .as_str()
            .and_then(|k| StoreRef::suffix_of(k)?.parse::<u64>().ok());
        let amount = properties["amount"].as_str().and_then(|a| a.parse().ok());
        if let (Some(id), Some(amount)) = (id, amount) {
            amounts.entry(id).or_default().push(amount);
        }
    }
    expected
        .iter()
        .filter(|(id, version)| {
            amounts
                .get(id)
                .is_some_and(|a| a.contains(&f64::from(**version)))
        })
        .count() as u64
}

/// The progress line: what was sent and answered, then what the pipeline made of it.
pub(super) fn line(elapsed: f64, s: &Summary, look: &Look) -> String {
    let refused: u64 = s.statuses.values().sum();
    let mut out = format!(
        "storm {elapsed:>5.1} s: sent {} acknowledged {} non-2xx {} no answer {}",
        s.sent, s.acknowledged, refused, s.errors
    );
    if s.dropped > 0 {
        out.push_str(&format!(" dropped {}", s.dropped));
    }
    if let Some(lag) = look.lag {
        out.push_str(&format!(" | lag {lag}"));
    }
    if let Some(synced) = look.synced {
        out.push_str(&format!(" | synced {synced}/{}", s.expected().len()));
    }
    if let Some(n) = look.crm_429s {
        out.push_str(&format!(" | CRM 429s {n}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deal(key: &str, amount: &str) -> Value {
        json!({"properties": {ORDER_KEY: key, "amount": amount}})
    }

    #[test]
    fn an_order_is_synced_only_at_its_expected_version() {
        let deals = json!({"results": [
            deal("shopify:acme:1", "3.00"),
            deal("shopify:acme:2", "1.00"),
            deal("shopify:acme:4", "2"),
            {"properties": {"amount": "9.00"}},
        ]});
        let expected = BTreeMap::from([(1, 3), (2, 2), (3, 1), (4, 2)]);
        assert_eq!(
            synced(&deals, &expected),
            2,
            "1 and 4; 2 is behind, 3 absent"
        );
        assert_eq!(synced(&json!({}), &expected), 0);
    }

    #[test]
    fn the_line_shows_only_what_the_storm_can_see() {
        let mut s = Summary {
            sent: 10,
            acknowledged: 9,
            errors: 1,
            newest_acknowledged: BTreeMap::from([(1, 1), (2, 1)]),
            ..Summary::default()
        };
        assert_eq!(
            line(1.0, &s, &Look::default()),
            "storm   1.0 s: sent 10 acknowledged 9 non-2xx 0 no answer 1"
        );
        s.dropped = 2;
        let look = Look {
            lag: Some(40),
            synced: Some(1),
            crm_429s: Some(0),
        };
        assert_eq!(
            line(2.5, &s, &look),
            "storm   2.5 s: sent 10 acknowledged 9 non-2xx 0 no answer 1 dropped 2 | lag 40 | synced 1/2 | CRM 429s 0"
        );
    }
}
