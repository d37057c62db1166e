//! WooCommerce webhook and REST v3 payloads (orders, customers, products) into the
//! canonical model. Times are the `*_gmt` fields (naive UTC). WooCommerce has no
//! checkout webhooks, so carts are unsupported. Names come with HTML character references
//! (`&ndash;`, `&amp;`, `&#8217;`), decoded here (`entities`).

use serde_json::{Value, json};

use super::{MapError, decimal, display_text, id_text, required_id, required_time, text};
use crate::model::{
    Customer, LineItem, Money, ObjectKind, Order, OrderStatus, Product, Record, StorePlatform,
    Variant,
};

pub fn record(kind: ObjectKind, body: &Value) -> Result<Record, MapError> {
    Ok(match kind {
        ObjectKind::Orders => Record::Order(order(body)?),
        ObjectKind::Customers => Record::Customer(customer(body)?),
        ObjectKind::Products => Record::Product(product(body)?),
        // `map_record` turns carts away first (`StorePlatform::supports`).
        ObjectKind::Carts => return Err(MapError::unsupported(StorePlatform::WooCommerce, kind)),
    })
}

pub fn status(text: Option<&str>) -> OrderStatus {
    match text {
        Some("pending" | "checkout-draft") | None => OrderStatus::Pending,
        Some("on-hold") => OrderStatus::OnHold,
        Some("completed") => OrderStatus::Completed,
        Some("cancelled") => OrderStatus::Cancelled,
        Some("refunded") => OrderStatus::Refunded,
        Some("failed") => OrderStatus::Failed,
        // `processing` and custom statuses added by plugins.
        Some(_) => OrderStatus::Processing,
    }
}

fn updated_at(v: &Value) -> Result<jiff::Timestamp, MapError> {
    required_time(v, "date_modified_gmt")
}

pub fn customer(v: &Value) -> Result<Customer, MapError> {
    let billing = v.get("billing").cloned().unwrap_or_else(|| json!({}));
    Ok(Customer {
        id: required_id(v, "id")?,
        email: text(v, "email").or_else(|| text(&billing, "email")),
        first_name: display_text(v, "first_name").or_else(|| display_text(&billing, "first_name")),
        last_name: display_text(v, "last_name").or_else(|| display_text(&billing, "last_name")),
        phone: text(&billing, "phone"),
        updated_at: updated_at(v)?,
    })
}

pub fn order(v: &Value) -> Result<Order, MapError> {
    let id = required_id(v, "id")?;
    let updated = updated_at(v)?;
    let billing = v.get("billing").cloned().unwrap_or_else(|| json!({}));
    let email = text(&billing, "email");
    // customer_id 0 is a guest: the contact is still keyed by the billing email.
    let customer_id = id_text(v.get("customer_id")).filter(|id| id != "0");
    let customer = (customer_id.is_some() || email.is_some()).then(|| Customer {
        id: customer_id.unwrap_or_else(|| format!("guest:{}", email.clone().unwrap_or_default())),
        email: email.clone(),
        first_name: display_text(&billing, "first_name"),
        last_name: display_text(&billing, "last_name"),
        phone: text(&billing, "phone"),
        updated_at: updated,
    });
    let items = match v.get("line_items") {
        None => Vec::new(),
        Some(items) => items
            .as_array()
            .ok_or(MapError::InvalidField("line_items"))?
            .iter()
            .map(|item| {
                Ok(LineItem {
                    id: required_id(item, "id")?,
                    product_id: id_text(item.get("product_id")).filter(|id| id != "0"),
                    variant_id: id_text(item.get("variation_id")).filter(|id| id != "0"),
                    sku: text(item, "sku"),
                    name: display_text(item, "name").unwrap_or_default(),
                    quantity: decimal(item, "quantity")?.unwrap_or_else(|| "1".into()),
                    price: decimal(item, "price")?.unwrap_or_else(|| "0".into()),
                })
            })
            .collect::<Result<Vec<_>, MapError>>()?,
    };
    Ok(Order {
        number: text(v, "number").unwrap_or_else(|| id.clone()),
        email,
        customer,
        total: Money {
            amount: decimal(v, "total")?.ok_or(MapError::MissingField("total"))?,
            currency: text(v, "currency").ok_or(MapError::MissingField("currency"))?,
        },
        status: status(text(v, "status").as_deref()),
        created_at: required_time(v, "date_created_gmt")?,
        updated_at: updated,
        line_items: items,
        id,
    })
}

pub fn product(v: &Value) -> Result<Product, MapError> {
    Ok(Product {
        id: required_id(v, "id")?,
        name: display_text(v, "name").ok_or(MapError::MissingField("name"))?,
        variants: vec![Variant {
            id: None,
            sku: text(v, "sku"),
            price: decimal(v, "price")?,
        }],
        updated_at: updated_at(v)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_sample_order_maps_fully() {
        let v: Value =
            serde_json::from_str(include_str!("fixtures/woocommerce_order.json")).unwrap();
        let o = order(&v).unwrap();
        assert_eq!(o.id, "727");
        assert_eq!(o.number, "727");
        assert_eq!(o.status, OrderStatus::Processing);
        assert_eq!(o.total.amount, "29.35");
        assert_eq!(o.email.as_deref(), Some("john.doe@example.com"));
        assert_eq!(o.created_at.to_string(), "2026-11-20T15:01:02Z");
        assert_eq!(o.updated_at.to_string(), "2026-11-20T15:03:10Z");
        let c = o.customer.as_ref().unwrap();
        assert_eq!(c.id, "guest:john.doe@example.com");
        assert_eq!(c.phone.as_deref(), Some("(555) 555-5555"));
        let item = &o.line_items[0];
        assert_eq!(item.id, "315");
        assert_eq!(item.price, "6.0");
        assert_eq!(item.variant_id, None);
        assert_eq!(item.product_id.as_deref(), Some("93"));
    }

    #[test]
    fn statuses_and_unsupported_carts() {
        assert_eq!(status(Some("on-hold")), OrderStatus::OnHold);
        assert_eq!(status(Some("completed")), OrderStatus::Completed);
        assert_eq!(status(Some("failed")), OrderStatus::Failed);
        assert_eq!(status(Some("wc-custom")), OrderStatus::Processing);
        assert!(matches!(
            record(ObjectKind::Carts, &json!({})),
            Err(MapError::UnsupportedTopic(_))
        ));
    }

    #[test]
    fn customers_and_products() {
        let c = customer(&json!({"id": 25, "email": "john.doe@example.com",
            "first_name": "John", "last_name": "Doe", "date_modified_gmt": "2026-11-20T15:03:10",
            "billing": {"phone": "(555) 555-5555"}}))
        .unwrap();
        assert_eq!(c.id, "25");
        assert_eq!(c.phone.as_deref(), Some("(555) 555-5555"));
        let p = product(&json!({"id": 93, "name": "Woo Single #1", "sku": "WOO-1",
            "price": "6", "date_modified_gmt": "2026-11-20T15:03:10"}))
        .unwrap();
        assert_eq!(p.variants[0].sku.as_deref(), Some("WOO-1"));
        assert_eq!(p.variants[0].price.as_deref(), Some("6"));
    }
}
