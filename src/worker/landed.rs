//! The upserts of an event that already reached HubSpot, with the ids HubSpot gave them.
//! An event whose later steps failed is retried with this record beside it, so the retry
//! sends only what is missing (an association, a refused input) and never rewrites what
//! landed: a rewrite spends budget and, after an older version slipped in, would be stale.

use std::collections::BTreeMap;

use crate::connectors::crm::hubspot::mapping::HubspotObject;

/// (type, unique key) → HubSpot id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Landed(pub BTreeMap<(HubspotObject, String), String>);

impl Landed {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, object: HubspotObject, key: &str) -> Option<&String> {
        self.0.get(&(object, key.to_owned()))
    }

    pub fn insert(&mut self, object: HubspotObject, key: String, id: String) {
        self.0.insert((object, key), id);
    }

    /// As stored in the entry's `landed` field: `[["deals", key, id], …]`.
    pub fn encode(&self) -> String {
        let rows: Vec<(&str, &str, &str)> = self
            .0
            .iter()
            .map(|((object, key), id)| (object.path(), key.as_str(), id.as_str()))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
    }

    /// The field read back. Anything unreadable counts as nothing landed: the retry then
    /// upserts again, which is idempotent, so a damaged field costs budget, never data.
    pub fn decode(text: &str) -> Self {
        let rows: Vec<(String, String, String)> = serde_json::from_str(text).unwrap_or_default();
        Self(
            rows.into_iter()
                .filter_map(|(object, key, id)| Some(((HubspotObject::parse(&object)?, key), id)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_damage() {
        let mut landed = Landed::default();
        landed.insert(HubspotObject::Deals, "shopify:acme:1".into(), "512".into());
        landed.insert(
            HubspotObject::LineItems,
            "shopify:acme:1:9".into(),
            "77".into(),
        );
        let text = landed.encode();
        assert_eq!(Landed::decode(&text), landed);
        assert_eq!(
            Landed::decode(&text).get(HubspotObject::Deals, "shopify:acme:1"),
            Some(&"512".to_owned())
        );
        assert!(Landed::decode("not json").is_empty());
        assert!(Landed::decode(r#"[["tickets","k","1"]]"#).is_empty());
    }
}
