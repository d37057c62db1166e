//! What the envelope says about the object a webhook carries (kind, id, updated_at), read
//! from each platform's payload shape (api-contracts.md "Samples"). Pure functions, so the
//! worker's watermark and coalescing inputs are unit-tested here, next to their source.

use serde_json::Value;

/// The object of a delivery, as far as topic and payload tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    pub kind: Option<&'static str>,
    pub id: Option<String>,
    pub updated_at: Option<String>,
}

/// Which payload family a delivery belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadShape {
    /// Shopify REST resources, topics `orders/create`.
    Shopify,
    /// WooCommerce REST v3 resources, topics `order.updated`, GMT dates without offset.
    WooCommerce,
    /// Magento REST representations and Standard Webhooks bodies, possibly wrapped in
    /// `{"type": …, "data": {…}}` (Standard Webhooks) or `{"data": {…}}` (extensions).
    Generic,
}

/// Maps the resource part of a topic (`orders/create`, `order.updated`, `customer.created`)
/// to the object kinds of the CRD.
pub fn kind_from_topic(topic: &str) -> Option<&'static str> {
    let resource = topic.split(['/', '.']).next()?.to_ascii_lowercase();
    match resource.trim_end_matches('s') {
        "order" => Some("orders"),
        "customer" => Some("customers"),
        "product" => Some("products"),
        "checkout" | "cart" => Some("carts"),
        _ => None,
    }
}

/// A topic from the body of a scheme whose headers carry none (Standard Webhooks' `type`,
/// or what Magento extensions put in their payloads).
pub fn topic_from_body(payload: &Value) -> Option<String> {
    ["type", "topic", "event", "eventName"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// `2026-11-20T15:03:10` or `2026-11-20 15:03:10` (UTC by contract, no offset) becomes
/// RFC 3339 with `Z`; anything else is kept as the store wrote it.
pub fn naive_utc_to_rfc3339(text: &str) -> String {
    let b = text.as_bytes();
    let shaped = b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':';
    if shaped {
        format!("{}T{}Z", &text[..10], &text[11..])
    } else {
        text.to_owned()
    }
}

/// Kind, id and modification time of the object in `payload`.
pub fn describe(shape: PayloadShape, topic: &str, payload: &Value) -> ObjectInfo {
    let field = |obj: &Value, name: &str| obj.get(name).and_then(Value::as_str).map(str::to_owned);
    match shape {
        PayloadShape::Shopify => ObjectInfo {
            kind: kind_from_topic(topic),
            id: payload.get("id").and_then(id_text),
            updated_at: field(payload, "updated_at"),
        },
        PayloadShape::WooCommerce => ObjectInfo {
            kind: kind_from_topic(topic),
            id: payload.get("id").and_then(id_text),
            updated_at: field(payload, "date_modified_gmt")
                .map(|t| naive_utc_to_rfc3339(&t))
                .or_else(|| field(payload, "date_modified")),
        },
        PayloadShape::Generic => {
            let object = match payload.get("data") {
                Some(data) if data.is_object() => data,
                _ => payload,
            };
            ObjectInfo {
                kind: kind_from_topic(topic),
                id: ["entity_id", "id"]
                    .iter()
                    .find_map(|k| object.get(*k).and_then(id_text)),
                updated_at: field(object, "updated_at").map(|t| naive_utc_to_rfc3339(&t)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shopify_order_keeps_64_bit_id_as_text() {
        let body: Value = serde_json::from_str(
            r##"{"id":820982911946154508,"name":"#1001","updated_at":"2026-11-20T10:01:02-05:00",
                "customer":{"id":115310627314723954}}"##,
        )
        .unwrap();
        let info = describe(PayloadShape::Shopify, "orders/create", &body);
        assert_eq!(info.kind, Some("orders"));
        assert_eq!(info.id.as_deref(), Some("820982911946154508"));
        assert_eq!(
            info.updated_at.as_deref(),
            Some("2026-11-20T10:01:02-05:00")
        );
    }

    #[test]
    fn shopify_topics_map_to_kinds() {
        assert_eq!(kind_from_topic("customers/update"), Some("customers"));
        assert_eq!(kind_from_topic("products/update"), Some("products"));
        assert_eq!(kind_from_topic("checkouts/create"), Some("carts"));
        assert_eq!(kind_from_topic("app/uninstalled"), None);
        assert_eq!(kind_from_topic(""), None);
    }

    #[test]
    fn woocommerce_order_uses_gmt_modification_time() {
        let body = json!({"id":727,"number":"727","date_modified":"2026-11-20T10:03:10",
                          "date_modified_gmt":"2026-11-20T15:03:10"});
        let info = describe(PayloadShape::WooCommerce, "order.updated", &body);
        assert_eq!(info.kind, Some("orders"));
        assert_eq!(info.id.as_deref(), Some("727"));
        assert_eq!(info.updated_at.as_deref(), Some("2026-11-20T15:03:10Z"));
        let customer = describe(
            PayloadShape::WooCommerce,
            "customer.created",
            &json!({"id": 5}),
        );
        assert_eq!(customer.kind, Some("customers"));
        assert_eq!(customer.updated_at, None);
    }

    #[test]
    fn magento_order_direct_or_wrapped() {
        let order =
            json!({"entity_id":42,"increment_id":"000000042","updated_at":"2026-11-20 15:03:10"});
        let direct = describe(PayloadShape::Generic, "orders/updated", &order);
        assert_eq!(direct.kind, Some("orders"));
        assert_eq!(direct.id.as_deref(), Some("42"));
        assert_eq!(direct.updated_at.as_deref(), Some("2026-11-20T15:03:10Z"));
        let wrapped =
            json!({"type":"orders/updated","timestamp":"2026-11-20T15:03:11Z","data":order});
        assert_eq!(topic_from_body(&wrapped).as_deref(), Some("orders/updated"));
        assert_eq!(
            describe(PayloadShape::Generic, "orders/updated", &wrapped),
            direct
        );
    }

    #[test]
    fn unknown_shapes_yield_nothing_rather_than_guesses() {
        let info = describe(PayloadShape::Generic, "unknown", &json!([1, 2, 3]));
        assert_eq!(info, ObjectInfo::default());
        assert_eq!(topic_from_body(&json!({"type": 3})), None);
        assert_eq!(
            naive_utc_to_rfc3339("2026-11-20T15:03:10+02:00"),
            "2026-11-20T15:03:10+02:00"
        );
    }
}
