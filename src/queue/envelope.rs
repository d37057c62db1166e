//! The event envelope: what the receiver (and later the poller) writes to a pipeline's
//! stream and what workers read back. Each field is one stream field, so `redis-cli XRANGE`
//! shows an entry readably and a worker can decode it without a second parser.

use std::collections::HashMap;

use crate::api::{ObjectKind, StorePlatform};

/// The envelope layout version, written as stream field `v` so a worker can refuse entries
/// from a newer receiver instead of misreading them.
pub const ENVELOPE_VERSION: &str = "1";

/// How an event reached the stream: the receiver route and signature scheme that verified
/// it, or the reconciliation poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Shopify,
    WooCommerce,
    MagentoHmac,
    MagentoAdobe,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    Standard,
    Poll,
}

impl Scheme {
    const ALL: [Scheme; 6] = [
        Self::Shopify,
        Self::WooCommerce,
        Self::MagentoHmac,
        Self::MagentoAdobe,
        Self::Standard,
        Self::Poll,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::MagentoHmac => "magento-hmac",
            Self::MagentoAdobe => "magento-adobe",
            Self::Standard => "standard",
            Self::Poll => "poll",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One verified store event, as stored in `sl:{ns/name}:events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEnvelope {
    /// The provider's delivery id; the dedupe marker is keyed by it.
    pub delivery_id: String,
    /// The store platform of the pipeline.
    pub platform: StorePlatform,
    /// How it came in (shown by `redis-cli XRANGE`, and telling webhooks from polls).
    pub scheme: Scheme,
    /// The provider's topic (e.g. orders/create, order.updated), or "unknown".
    pub topic: String,
    /// The object kind, when the topic or payload says so.
    pub object_kind: Option<ObjectKind>,
    /// The store's id of the object, kept as text because Shopify ids exceed 2^53.
    pub object_id: Option<String>,
    /// When this receiver (or poller) accepted the event (RFC 3339, UTC).
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
    #[error("stream entry field {0} holds {1:?}, which is not one of its values")]
    Unknown(&'static str, String),
    #[error("stream entry has envelope version {0}, expected {ENVELOPE_VERSION}")]
    Version(String),
}

impl EventEnvelope {
    /// Field/value pairs for XADD, optional fields left out when absent.
    pub fn to_fields(&self) -> Vec<(&'static str, &[u8])> {
        let mut fields: Vec<(&'static str, &[u8])> = vec![
            ("v", ENVELOPE_VERSION.as_bytes()),
            ("delivery_id", self.delivery_id.as_bytes()),
            ("platform", self.platform.as_str().as_bytes()),
            ("scheme", self.scheme.as_str().as_bytes()),
            ("topic", self.topic.as_bytes()),
        ];
        if let Some(kind) = self.object_kind {
            fields.push(("object_kind", kind.as_str().as_bytes()));
        }
        if let Some(id) = &self.object_id {
            fields.push(("object_id", id.as_bytes()));
        }
        fields.push(("received_at", self.received_at.as_bytes()));
        fields.push(("body", self.body.as_bytes()));
        fields
    }

    /// Decodes the fields of one stream entry (as returned by XRANGE / XREADGROUP). Fields
    /// it does not know (older receivers wrote `updated_at` and `triggered_at`) are ignored.
    pub fn from_fields(fields: &HashMap<String, Vec<u8>>) -> Result<Self, EnvelopeError> {
        let text = |name: &'static str| -> Result<Option<String>, EnvelopeError> {
            fields
                .get(name)
                .map(|b| String::from_utf8(b.clone()).map_err(|_| EnvelopeError::NotText(name)))
                .transpose()
        };
        let required = |name: &'static str| text(name)?.ok_or(EnvelopeError::MissingField(name));
        fn typed<T>(
            name: &'static str,
            value: String,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Result<T, EnvelopeError> {
            parse(&value).ok_or(EnvelopeError::Unknown(name, value))
        }
        let version = required("v")?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(version));
        }
        Ok(Self {
            delivery_id: required("delivery_id")?,
            platform: typed("platform", required("platform")?, StorePlatform::parse)?,
            scheme: typed("scheme", required("scheme")?, Scheme::parse)?,
            topic: required("topic")?,
            object_kind: text("object_kind")?
                .map(|k| typed("object_kind", k, ObjectKind::parse))
                .transpose()?,
            object_id: text("object_id")?,
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
            platform: StorePlatform::Shopify,
            scheme: Scheme::Shopify,
            topic: "orders/create".into(),
            object_kind: Some(ObjectKind::Orders),
            object_id: None,
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
        assert!(!map.contains_key("object_id"));
        assert_eq!(EventEnvelope::from_fields(&map).unwrap(), e);
        for scheme in Scheme::ALL {
            assert_eq!(Scheme::parse(scheme.as_str()), Some(scheme));
        }
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
        let mut map = as_map(&sample());
        map.insert("platform".into(), b"bigcommerce".to_vec());
        assert_eq!(
            EventEnvelope::from_fields(&map),
            Err(EnvelopeError::Unknown("platform", "bigcommerce".into()))
        );
        // What older receivers also wrote is ignored.
        let mut map = as_map(&sample());
        map.insert("triggered_at".into(), b"2026-11-20T15:01:02Z".to_vec());
        assert_eq!(EventEnvelope::from_fields(&map).unwrap(), sample());
    }
}
