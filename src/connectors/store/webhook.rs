//! What a webhook delivery carries, read once, the way the worker will map it: the body's
//! shape (a bare REST resource, or wrapped as `{"type", "data"}` by Standard Webhooks and
//! the common Magento extensions), its topic (a header, else the envelope), its object
//! kind (the topic, else the bare resource's own shape) and the canonical record.
//!
//! The receiver acknowledges a delivery only when this succeeds, and the worker maps the
//! same body through the same function, so a delivery answered 2xx is never one the worker
//! cannot map: what cannot be mapped is refused at the door with a 4xx naming the problem.

use serde_json::Value;

use super::{MapError, map_record};
use crate::model::{ObjectKind, Record, StorePlatform};

/// Envelope fields that name the topic, in the order they are looked at.
const TOPIC_FIELDS: [&str; 4] = ["type", "topic", "event", "eventName"];

/// What a delivery is.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    /// An object to sync, mapped.
    Object { topic: String, record: Box<Record> },
    /// A deletion of an object of this kind: acknowledged, not mirrored into the CRM.
    Deletion { topic: String, kind: ObjectKind },
}

/// Why a delivery cannot be synced; each names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnreadableDelivery {
    #[error(
        "the delivery names no topic (no topic header, no `type` in the body) and the body is not a recognisable {0} order, customer or product"
    )]
    UnknownObject(&'static str),
    #[error("topic `{0}` carries no customer, order, product or cart")]
    UnsupportedTopic(String),
    #[error("the {kind} in the body cannot be read: {error}")]
    Unmappable {
        kind: &'static str,
        #[source]
        error: MapError,
    },
}

/// The resource itself: `data` of a `{"type": …, "data": {…}}` envelope, else the body.
/// A wrapper has a `data` object and no id of its own; every resource has an id.
pub fn resource(body: &Value) -> &Value {
    let own_id = body.get("id").is_some() || body.get("entity_id").is_some();
    match body.get("data") {
        Some(data) if data.is_object() && !own_id => data,
        _ => body,
    }
}

/// A topic from the body of a scheme whose headers carry none.
pub fn topic_from_body(body: &Value) -> Option<String> {
    TOPIC_FIELDS
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str))
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
}

/// The object kind a topic names: its first segment that is one (`orders/create`,
/// `order.updated`, `checkouts/update`, and extension event names such as
/// `sales.order.created` or `catalog_product_save_after`).
pub fn kind_from_topic(topic: &str) -> Option<ObjectKind> {
    topic.split(['/', '.', '_', ':']).find_map(|segment| {
        match segment.to_ascii_lowercase().trim_end_matches('s') {
            "order" => Some(ObjectKind::Orders),
            "customer" => Some(ObjectKind::Customers),
            "product" => Some(ObjectKind::Products),
            "checkout" | "cart" => Some(ObjectKind::Carts),
            _ => None,
        }
    })
}

/// The kind of a bare REST resource without a topic, by the fields only that kind has on
/// the platform (its REST representation, docs/api-contracts.md).
pub fn kind_from_shape(platform: StorePlatform, r: &Value) -> Option<ObjectKind> {
    let has = |f: &str| r.get(f).is_some_and(|v| !v.is_null());
    match platform {
        StorePlatform::Magento if has("entity_id") && has("increment_id") => {
            Some(ObjectKind::Orders)
        }
        StorePlatform::Magento if has("sku") && (has("type_id") || has("attribute_set_id")) => {
            Some(ObjectKind::Products)
        }
        StorePlatform::Magento if has("email") && (has("website_id") || has("group_id")) => {
            Some(ObjectKind::Customers)
        }
        StorePlatform::Shopify if has("line_items") && has("abandoned_checkout_url") => {
            Some(ObjectKind::Carts)
        }
        StorePlatform::Shopify if has("line_items") && has("financial_status") => {
            Some(ObjectKind::Orders)
        }
        StorePlatform::Shopify if has("variants") => Some(ObjectKind::Products),
        StorePlatform::Shopify if has("email") && has("orders_count") => {
            Some(ObjectKind::Customers)
        }
        StorePlatform::WooCommerce if has("line_items") && has("order_key") => {
            Some(ObjectKind::Orders)
        }
        StorePlatform::WooCommerce if has("line_items") && has("date_modified_gmt") => {
            Some(ObjectKind::Orders)
        }
        StorePlatform::WooCommerce if has("sku") && has("regular_price") => {
            Some(ObjectKind::Products)
        }
        StorePlatform::WooCommerce if has("email") && has("billing") && has("username") => {
            Some(ObjectKind::Customers)
        }
        _ => None,
    }
}

/// Reads one delivery of `platform`; `header_topic` is the topic its headers name, if any.
pub fn read(
    platform: StorePlatform,
    header_topic: Option<&str>,
    body: &Value,
) -> Result<Delivered, UnreadableDelivery> {
    let topic = header_topic
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| topic_from_body(body));
    let resource = resource(body);
    let kind = match &topic {
        Some(t) => {
            kind_from_topic(t).ok_or_else(|| UnreadableDelivery::UnsupportedTopic(t.clone()))?
        }
        None => kind_from_shape(platform, resource)
            .ok_or(UnreadableDelivery::UnknownObject(platform.as_str()))?,
    };
    let topic = topic.unwrap_or_else(|| format!("{}/unnamed", kind.as_str()));
    if topic.to_ascii_lowercase().contains("delete") {
        return Ok(Delivered::Deletion { topic, kind });
    }
    let record =
        map_record(platform, kind, resource).map_err(|error| UnreadableDelivery::Unmappable {
            kind: kind.singular(),
            error,
        })?;
    Ok(Delivered::Object {
        topic,
        record: Box::new(record),
    })
}

#[cfg(test)]
mod tests;
