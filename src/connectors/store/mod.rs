//! Store connectors: each platform's webhook and REST payloads into the canonical model.
//! Pure functions over `serde_json::Value`, so 64-bit ids and decimal money survive as text.

pub mod entities;
pub mod magento;
pub mod rest;
pub mod shopify;
pub mod webhook;
pub mod woocommerce;

use jiff::Timestamp;
use serde_json::Value;

use crate::model::{ObjectKind, Record, StorePlatform};

/// Why a payload could not be mapped. Low-cardinality: it labels dead letters and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("the payload is not a JSON object")]
    NotAnObject,
    #[error("field `{0}` is missing or empty")]
    MissingField(&'static str),
    #[error("field `{0}` is not a valid timestamp")]
    InvalidTimestamp(&'static str),
    #[error("field `{0}` has an unexpected type")]
    InvalidField(&'static str),
    #[error("no canonical record for topic `{0}`")]
    UnsupportedTopic(String),
}

impl MapError {
    /// A stable label for metrics and dead letters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::MissingField(_) => "missing_field",
            Self::InvalidTimestamp(_) => "invalid_timestamp",
            Self::InvalidField(_) => "invalid_field",
            Self::UnsupportedTopic(_) => "unsupported_topic",
        }
    }

    /// A kind the platform does not offer (`woocommerce carts`).
    pub fn unsupported(platform: StorePlatform, kind: ObjectKind) -> Self {
        Self::UnsupportedTopic(format!("{} {}", platform.as_str(), kind.as_str()))
    }
}

/// Maps one webhook body (or one REST item) of `kind` from `platform`.
pub fn map_record(
    platform: StorePlatform,
    kind: ObjectKind,
    body: &Value,
) -> Result<Record, MapError> {
    let body = webhook::resource(body);
    if !body.is_object() {
        return Err(MapError::NotAnObject);
    }
    if !platform.supports(kind) {
        return Err(MapError::unsupported(platform, kind));
    }
    match platform {
        StorePlatform::Shopify => shopify::record(kind, body),
        StorePlatform::WooCommerce => woocommerce::record(kind, body),
        StorePlatform::Magento => magento::record(kind, body),
    }
}

/// An id as text: JSON numbers (64-bit safe) or non-empty strings.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Store ids compare as numbers when both are (Shopify's are 64-bit), else as text.
pub fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

pub(crate) fn required_id(obj: &Value, field: &'static str) -> Result<String, MapError> {
    id_text(obj.get(field)).ok_or(MapError::MissingField(field))
}

/// A non-empty string field.
pub(crate) fn text(obj: &Value, field: &str) -> Option<String> {
    obj.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A non-empty string field that is display text with HTML character references in it
/// (WooCommerce names), decoded.
pub(crate) fn display_text(obj: &Value, field: &str) -> Option<String> {
    text(obj, field).map(|t| entities::decode(&t))
}

/// A decimal amount sent as a string or a JSON number, kept as decimal text.
pub(crate) fn decimal(obj: &Value, field: &'static str) -> Result<Option<String>, MapError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if is_decimal(s) {
                Ok(Some(s.to_owned()))
            } else {
                Err(MapError::InvalidField(field))
            }
        }
        // serde_json prints the shortest text that round-trips, e.g. 36.39 → "36.39".
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(MapError::InvalidField(field)),
    }
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A time as the stores send it: RFC 3339 with an offset (Shopify), or a naive
/// `YYYY-MM-DD[T ]HH:MM:SS` that is UTC (WooCommerce `*_gmt`, Magento).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let civil: jiff::civil::DateTime = text.replacen(' ', "T", 1).parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

pub(crate) fn time(obj: &Value, field: &'static str) -> Result<Option<Timestamp>, MapError> {
    match text(obj, field) {
        None => Ok(None),
        Some(t) => parse_time(&t)
            .map(Some)
            .ok_or(MapError::InvalidTimestamp(field)),
    }
}

pub(crate) fn required_time(obj: &Value, field: &'static str) -> Result<Timestamp, MapError> {
    time(obj, field)?.ok_or(MapError::MissingField(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_with_offsets_and_naive_utc() {
        let shopify = parse_time("2026-11-20T10:01:02-05:00").unwrap();
        assert_eq!(shopify.to_string(), "2026-11-20T15:01:02Z");
        assert_eq!(parse_time("2026-11-20T15:01:02").unwrap(), shopify);
        assert_eq!(parse_time("2026-11-20 15:01:02").unwrap(), shopify);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn decimals_stay_text_and_reject_garbage() {
        let v = json!({"a": "403.00", "b": 36.39, "c": 29, "d": "12,5", "e": null, "f": true});
        assert_eq!(decimal(&v, "a").unwrap().as_deref(), Some("403.00"));
        assert_eq!(decimal(&v, "b").unwrap().as_deref(), Some("36.39"));
        assert_eq!(decimal(&v, "c").unwrap().as_deref(), Some("29"));
        assert_eq!(decimal(&v, "d"), Err(MapError::InvalidField("d")));
        assert_eq!(decimal(&v, "e").unwrap(), None);
        assert_eq!(decimal(&v, "f"), Err(MapError::InvalidField("f")));
    }

    #[test]
    fn ids_are_text_even_when_64_bit() {
        let v: Value = serde_json::from_str(r#"{"id":820982911946154508,"s":"7","e":""}"#).unwrap();
        assert_eq!(id_text(v.get("id")).as_deref(), Some("820982911946154508"));
        assert_eq!(id_text(v.get("s")).as_deref(), Some("7"));
        assert_eq!(id_text(v.get("e")), None);
        assert_eq!(
            map_record(StorePlatform::Shopify, ObjectKind::Orders, &json!([1])),
            Err(MapError::NotAnObject)
        );
    }

    /// The connectors map exactly the kinds `StorePlatform::supports` allows: an empty
    /// object of a supported kind fails on a missing field, never as unsupported.
    #[test]
    fn mapping_follows_the_platform_rule() {
        for platform in StorePlatform::ALL {
            for kind in ObjectKind::ALL {
                let unsupported = matches!(
                    map_record(platform, kind, &json!({})),
                    Err(MapError::UnsupportedTopic(_))
                );
                assert_eq!(
                    unsupported,
                    !platform.supports(kind),
                    "{platform:?} {kind:?}"
                );
            }
        }
    }
}
