//! The event envelope: what the receiver (and later the poller) writes to a pipeline's
//! stream and what workers read back. Each field is one stream field, so `redis-cli XRANGE`
//! shows an entry readably and a worker can decode it without a second parser.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The envelope layout version, written as stream field `v` so a worker can refuse entries
/// from a newer receiver instead of misreading them.
pub const ENVELOPE_VERSION: &str = "1";

/// One verified store event, as stored in `sl:{ns/name}:events`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EventEnvelope {
    /// The provider's delivery id; the dedupe marker is keyed by it.
    pub delivery_id: String,
    /// The store platform of the pipeline: shopify, woocommerce or magento.
    pub platform: String,
    /// The route and signature scheme the delivery came through (shopify, woocommerce,
    /// magento-hmac, magento-adobe, standard): workers parse the body accordingly.
    pub scheme: String,
    /// The provider's topic (e.g. orders/create, order.updated), or "unknown".
    pub topic: String,
    /// customers, orders, products or carts, when the topic or payload says so.
    pub object_kind: Option<String>,
    /// The store's id of the object, kept as text because Shopify ids exceed 2^53.
    pub object_id: Option<String>,
    /// The object's own modification time from the payload, for stale-write checks.
    pub updated_at: Option<String>,
    /// When the provider says the event happened (Shopify X-Shopify-Triggered-At,
    /// Standard Webhooks webhook-timestamp); retries keep the original.
    pub triggered_at: Option<String>,
    /// When this receiver accepted the delivery (RFC 3339, UTC).
    pub received_at: String,
    /// The raw, verified JSON body exactly as signed.
    pub body: String,
}

/// Why a stream entry could not be read back as an envelope.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("stream entry lacks field {0}")]
    MissingField(&'static str),
    #[error("stream entry field {0} is not UTF-8")]
    NotText(&'static str),
    #[error("stream entry has envelope version {0}, expected {ENVELOPE_VERSION}")]
    Version(String),
}

impl EventEnvelope {
    /// Field/value pairs for XADD, optional fields left out when absent.
    pub fn to_fields(&self) -> Vec<(&'static str, &[u8])> {
        let mut fields: Vec<(&'static str, &[u8])> = vec![
            ("v", ENVELOPE_VERSION.as_bytes()),
            ("delivery_id", self.delivery_id.as_bytes()),
            ("platform", self.platform.as_bytes()),
            ("scheme", self.scheme.as_bytes()),
            ("topic", self.topic.as_bytes()),
        ];
        let optional = [
            ("object_kind", &self.object_kind),
            ("object_id", &self.object_id),
            ("updated_at", &self.updated_at),
            ("triggered_at", &self.triggered_at),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.push((name, value.as_bytes()));
            }
        }
        fields.push(("received_at", self.received_at.as_bytes()));
        fields.push(("body", self.body.as_bytes()));
        fields
    }

    /// Decodes the fields of one stream entry (as returned by XRANGE / XREADGROUP).
    pub fn from_fields(fields: &HashMap<String, Vec<u8>>) -> Result<Self, EnvelopeError> {
        let text = |name: &'static str| -> Result<Option<String>, EnvelopeError> {
            fields
                .get(name)
                .map(|b| String::from_utf8(b.clone()).map_err(|_| EnvelopeError::NotText(name)))
                .transpose()
        };
        let required = |name: &'static str| text(name)?.ok_or(EnvelopeError::MissingField(name));
        let version = required("v")?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(version));
        }
        Ok(Self {
            delivery_id: required("delivery_id")?,
            platform: required("platform")?,
            scheme: required("scheme")?,
            topic: required("topic")?,
            object_kind: text("object_kind")?,
            object_id: text("object_id")?,
            updated_at: text("updated_at")?,
            triggered_at: text("triggered_at")?,
            received_at: required("received_at")?,
            body: required("body")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EventEnvelope {
        EventEnvelope {
            delivery_id: "d-1".into(),
            platform: "shopify".into(),
            scheme: "shopify".into(),
            topic: "orders/create".into(),
            object_kind: Some("orders".into()),
            object_id: Some("820982911946154508".into()),
            updated_at: None,
            triggered_at: Some("2026-11-20T15:01:02Z".into()),
            received_at: "2026-11-20T15:01:03Z".into(),
            body: "{\"id\":820982911946154508}".into(),
        }
    }

    fn as_map(e: &EventEnvelope) -> HashMap<String, Vec<u8>> {
        e.to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect()
    }

    #[test]
    fn fields_round_trip_and_omit_absent_options() {
        let e = sample();
        let map = as_map(&e);
        assert!(!map.contains_key("updated_at"));
        assert_eq!(EventEnvelope::from_fields(&map).unwrap(), e);
    }

    #[test]
    fn refuses_other_versions_and_missing_fields() {
        let mut map = as_map(&sample());
        map.insert("v".into(), b"2".to_vec());
        assert_eq!(
            EventEnvelope::from_fields(&map),
            Err(EnvelopeError::Version("2".into()))
        );
        let mut map = as_map(&sample());
        map.remove("body");
        assert_eq!(
            EventEnvelope::from_fields(&map),
            Err(EnvelopeError::MissingField("body"))
        );
    }
}
