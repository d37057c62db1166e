//! Shopify webhook and Admin REST payloads (orders, customers, products, checkouts) into
//! the canonical model.

use serde_json::Value;

use super::{MapError, decimal, id_text, required_id, required_time, text, time};
use crate::model::{
    Checkout, Customer, LineItem, Money, ObjectKind, Order, OrderStatus, Product, Record, Variant,
};

pub fn record(kind: ObjectKind, body: &Value) -> Result<Record, MapError> {
    Ok(match kind {
        ObjectKind::Orders => Record::Order(order(body)?),
        ObjectKind::Customers => Record::Customer(customer(body)?),
        ObjectKind::Products => Record::Product(product(body)?),
        ObjectKind::Carts => Record::Checkout(checkout(body)?),
    })
}

pub fn customer(v: &Value) -> Result<Customer, MapError> {
    Ok(Customer {
        id: required_id(v, "id")?,
        email: text(v, "email"),
        first_name: text(v, "first_name"),
        last_name: text(v, "last_name"),
        phone: text(v, "phone"),
        updated_at: required_time(v, "updated_at")?,
    })
}

/// Cancellation and refunds win over payment; fulfilment means completed.
pub fn status(v: &Value) -> OrderStatus {
    if v.get("cancelled_at").is_some_and(|c| !c.is_null()) {
        return OrderStatus::Cancelled;
    }
    match text(v, "financial_status").as_deref() {
        Some("refunded") => return OrderStatus::Refunded,
        Some("voided") => return OrderStatus::Cancelled,
        _ => {}
    }
    if text(v, "fulfillment_status").as_deref() == Some("fulfilled") {
        return OrderStatus::Completed;
    }
    match text(v, "financial_status").as_deref() {
        Some("paid" | "partially_refunded" | "partially_paid") => OrderStatus::Paid,
        Some("authorized") => OrderStatus::Authorized,
        _ => OrderStatus::Pending,
    }
}

fn line_items(v: &Value) -> Result<Vec<LineItem>, MapError> {
    let Some(items) = v.get("line_items") else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or(MapError::InvalidField("line_items"))?;
    items
        .iter()
        .map(|item| {
            Ok(LineItem {
                // Checkout line items may lack an id; the variant identifies them.
                id: id_text(item.get("id"))
                    .or_else(|| id_text(item.get("variant_id")))
                    .or_else(|| text(item, "key"))
                    .ok_or(MapError::MissingField("line_items.id"))?,
                product_id: id_text(item.get("product_id")),
                variant_id: id_text(item.get("variant_id")),
                sku: text(item, "sku"),
                name: text(item, "title")
                    .or_else(|| text(item, "name"))
                    .unwrap_or_default(),
                quantity: decimal(item, "quantity")?.unwrap_or_else(|| "1".into()),
                price: decimal(item, "price")?.unwrap_or_else(|| "0".into()),
            })
        })
        .collect()
}

fn money(v: &Value) -> Result<Money, MapError> {
    Ok(Money {
        amount: decimal(v, "total_price")?.ok_or(MapError::MissingField("total_price"))?,
        currency: text(v, "currency").ok_or(MapError::MissingField("currency"))?,
    })
}

pub fn order(v: &Value) -> Result<Order, MapError> {
    let id = required_id(v, "id")?;
    let customer = match v.get("customer") {
        Some(c) if c.is_object() && c.get("id").is_some_and(|id| !id.is_null()) => {
            // An embedded customer without its own updated_at takes the order's.
            let mut c = c.clone();
            if text(&c, "updated_at").is_none()
                && let (Some(obj), Some(t)) = (c.as_object_mut(), v.get("updated_at"))
            {
                obj.insert("updated_at".into(), t.clone());
            }
            Some(customer(&c)?)
        }
        _ => None,
    };
    Ok(Order {
        number: text(v, "name")
            .or_else(|| id_text(v.get("order_number")))
            .unwrap_or_else(|| id.clone()),
        email: text(v, "email")
            .or_else(|| text(v, "contact_email"))
            .or_else(|| customer.as_ref().and_then(|c| c.email.clone())),
        customer,
        total: money(v)?,
        status: status(v),
        created_at: required_time(v, "created_at")?,
        updated_at: required_time(v, "updated_at")?,
        line_items: line_items(v)?,
        id,
    })
}

pub fn product(v: &Value) -> Result<Product, MapError> {
    let variants = match v.get("variants").and_then(Value::as_array) {
        Some(variants) => variants
            .iter()
            .map(|variant| {
                Ok(Variant {
                    id: id_text(variant.get("id")),
                    sku: text(variant, "sku"),
                    price: decimal(variant, "price")?,
                })
            })
            .collect::<Result<Vec<_>, MapError>>()?,
        None => Vec::new(),
    };
    Ok(Product {
        id: required_id(v, "id")?,
        name: text(v, "title").ok_or(MapError::MissingField("title"))?,
        variants,
        updated_at: required_time(v, "updated_at")?,
    })
}

pub fn checkout(v: &Value) -> Result<Checkout, MapError> {
    Ok(Checkout {
        id: required_id(v, "id").or_else(|_| required_id(v, "token"))?,
        email: text(v, "email"),
        total: money(v)?,
        line_items: line_items(v)?,
        recovery_url: text(v, "abandoned_checkout_url"),
        created_at: required_time(v, "created_at")?,
        updated_at: required_time(v, "updated_at")?,
        completed_at: time(v, "completed_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_contract_sample_order_maps_fully() {
        let o = order(&fixture(include_str!("fixtures/shopify_order.json"))).unwrap();
        assert_eq!(o.id, "820982911946154508");
        assert_eq!(o.number, "#1001");
        assert_eq!(o.email.as_deref(), Some("jon@example.com"));
        assert_eq!(o.total.amount, "403.00");
        assert_eq!(o.total.currency, "USD");
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(o.created_at.to_string(), "2026-11-20T15:01:02Z");
        let c = o.customer.as_ref().unwrap();
        assert_eq!(c.id, "115310627314723954");
        assert_eq!(c.first_name.as_deref(), Some("Jon"));
        assert_eq!(c.phone, None);
        assert_eq!(o.line_items.len(), 1);
        let item = &o.line_items[0];
        assert_eq!(item.id, "866550311766439020");
        assert_eq!(item.sku.as_deref(), Some("IPOD2008PINK"));
        assert_eq!(item.quantity, "2");
        assert_eq!(item.price, "199.00");
        assert_eq!(item.variant_id.as_deref(), Some("808950810"));
        assert_eq!(
            record(
                ObjectKind::Orders,
                &fixture(include_str!("fixtures/shopify_order.json"))
            )
            .unwrap()
            .object_key(),
            "orders:820982911946154508"
        );
    }

    #[test]
    fn statuses_follow_cancellation_refund_fulfilment_payment() {
        let s = |v: Value| status(&v);
        assert_eq!(
            s(json!({"financial_status": "voided"})),
            OrderStatus::Cancelled
        );
        assert_eq!(
            s(json!({"financial_status": "paid", "cancelled_at": "2026-11-20T10:00:00Z"})),
            OrderStatus::Cancelled
        );
        assert_eq!(
            s(json!({"financial_status": "refunded"})),
            OrderStatus::Refunded
        );
        assert_eq!(
            s(json!({"financial_status": "paid", "fulfillment_status": "fulfilled"})),
            OrderStatus::Completed
        );
        assert_eq!(
            s(json!({"financial_status": "authorized"})),
            OrderStatus::Authorized
        );
        assert_eq!(
            s(json!({"financial_status": "pending"})),
            OrderStatus::Pending
        );
    }

    #[test]
    fn the_sdk_customer_fixture_maps() {
        let c = customer(&fixture(include_str!("fixtures/shopify_customer.json"))).unwrap();
        assert_eq!(c.id, "207119551");
        assert_eq!(c.email.as_deref(), Some("bob.norman@hostmail.com"));
        assert_eq!(c.last_name.as_deref(), Some("Norman"));
        assert_eq!(c.updated_at.to_string(), "2015-05-27T22:11:24Z");
    }

    #[test]
    fn products_keep_variants_and_checkouts_their_completion() {
        let p = product(&json!({"id": 632910392, "title": "IPod Nano - 8GB",
            "updated_at": "2026-11-20T10:01:02-05:00",
            "variants": [{"id": 808950810, "sku": "IPOD2008PINK", "price": "199.00"},
                         {"id": 808950811, "sku": "", "price": "199.00"}]}))
        .unwrap();
        assert_eq!(p.variants.len(), 2);
        assert_eq!(p.variants[0].sku.as_deref(), Some("IPOD2008PINK"));
        assert_eq!(p.variants[1].sku, None);
        let c = checkout(
            &json!({"id": 450789469, "token": "2a1ace52255252df566af0faaedfbfa7",
            "email": "bob.norman@hostmail.com", "total_price": "398.00", "currency": "USD",
            "abandoned_checkout_url": "https://acme.example/r/1",
            "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-20T10:05:00-05:00",
            "completed_at": null,
            "line_items": [{"variant_id": 808950810, "product_id": 632910392,
                            "sku": "IPOD2008PINK", "title": "IPod Nano", "quantity": 2,
                            "price": "199.00"}]}),
        )
        .unwrap();
        assert_eq!(c.id, "450789469");
        assert_eq!(c.completed_at, None);
        assert_eq!(c.line_items[0].id, "808950810");
        assert_eq!(c.recovery_url.as_deref(), Some("https://acme.example/r/1"));
    }

    #[test]
    fn missing_fields_are_errors_not_defaults() {
        assert_eq!(
            order(&json!({"id": 1, "currency": "USD", "total_price": "1.00",
                          "created_at": "2026-11-20T10:00:00Z"})),
            Err(MapError::MissingField("updated_at"))
        );
        assert_eq!(
            order(&json!({"id": 1, "currency": "USD", "total_price": 1.5,
                          "created_at": "soon", "updated_at": "2026-11-20T10:00:00Z"})),
            Err(MapError::InvalidTimestamp("created_at"))
        );
        assert_eq!(
            customer(&json!({"email": "a@b.c"})),
            Err(MapError::MissingField("id"))
        );
    }
}
