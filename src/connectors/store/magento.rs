//! Magento 2 REST items (`/V1/orders`, `/V1/customers/search`, `/V1/products`) and webhook
//! bodies (bare, or wrapped as `{"type", "data"}`) into the canonical model. Times are
//! UTC `YYYY-MM-DD HH:MM:SS`.

use serde_json::Value;

use super::{MapError, decimal, id_text, required_id, required_time, text};
use crate::model::{
    Customer, LineItem, Money, ObjectKind, Order, OrderStatus, Product, Record, StorePlatform,
    Variant,
};

/// One resource (already out of its webhook envelope: see `webhook::resource`).
pub fn record(kind: ObjectKind, body: &Value) -> Result<Record, MapError> {
    Ok(match kind {
        ObjectKind::Orders => Record::Order(order(body)?),
        ObjectKind::Customers => Record::Customer(customer(body)?),
        ObjectKind::Products => Record::Product(product(body)?),
        // `map_record` turns carts away first (`StorePlatform::supports`).
        ObjectKind::Carts => return Err(MapError::unsupported(StorePlatform::Magento, kind)),
    })
}

/// From the order `state` (stable codes), falling back to `status`.
pub fn status(v: &Value) -> OrderStatus {
    match text(v, "state").or_else(|| text(v, "status")).as_deref() {
        Some("new" | "pending_payment" | "pending") | None => OrderStatus::Pending,
        Some("holded" | "payment_review") => OrderStatus::OnHold,
        Some("complete") => OrderStatus::Completed,
        Some("closed") => OrderStatus::Refunded,
        Some("canceled") => OrderStatus::Cancelled,
        Some(_) => OrderStatus::Processing,
    }
}

pub fn customer(v: &Value) -> Result<Customer, MapError> {
    Ok(Customer {
        id: required_id(v, "id")?,
        email: text(v, "email"),
        first_name: text(v, "firstname"),
        last_name: text(v, "lastname"),
        phone: None,
        updated_at: required_time(v, "updated_at")?,
    })
}

pub fn order(v: &Value) -> Result<Order, MapError> {
    let id = required_id(v, "entity_id")?;
    let updated = required_time(v, "updated_at")?;
    let email = text(v, "customer_email");
    let customer_id = id_text(v.get("customer_id"));
    let customer = (customer_id.is_some() || email.is_some()).then(|| Customer {
        id: customer_id.unwrap_or_else(|| format!("guest:{}", email.clone().unwrap_or_default())),
        email: email.clone(),
        first_name: text(v, "customer_firstname"),
        last_name: text(v, "customer_lastname"),
        phone: None,
        updated_at: updated,
    });
    let items = match v.get("items") {
        None => Vec::new(),
        Some(items) => items
            .as_array()
            .ok_or(MapError::InvalidField("items"))?
            .iter()
            // Children of configurable items repeat their parent's line.
            .filter(|item| item.get("parent_item_id").is_none_or(Value::is_null))
            .map(|item| {
                Ok(LineItem {
                    id: required_id(item, "item_id")?,
                    product_id: id_text(item.get("product_id")),
                    variant_id: None,
                    sku: text(item, "sku"),
                    name: text(item, "name").unwrap_or_default(),
                    quantity: decimal(item, "qty_ordered")?.unwrap_or_else(|| "1".into()),
                    price: decimal(item, "price")?.unwrap_or_else(|| "0".into()),
                })
            })
            .collect::<Result<Vec<_>, MapError>>()?,
    };
    Ok(Order {
        number: text(v, "increment_id").unwrap_or_else(|| id.clone()),
        email,
        customer,
        total: Money {
            amount: decimal(v, "grand_total")?.ok_or(MapError::MissingField("grand_total"))?,
            currency: text(v, "order_currency_code")
                .ok_or(MapError::MissingField("order_currency_code"))?,
        },
        status: status(v),
        created_at: required_time(v, "created_at")?,
        updated_at: updated,
        line_items: items,
        id,
    })
}

pub fn product(v: &Value) -> Result<Product, MapError> {
    Ok(Product {
        id: required_id(v, "id")?,
        name: text(v, "name").ok_or(MapError::MissingField("name"))?,
        variants: vec![Variant {
            id: None,
            sku: text(v, "sku"),
            price: decimal(v, "price")?,
        }],
        updated_at: required_time(v, "updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_contract_sample_search_result_maps() {
        let page: Value =
            serde_json::from_str(include_str!("fixtures/magento_orders.json")).unwrap();
        let o = order(&page["items"][0]).unwrap();
        assert_eq!(o.id, "42");
        assert_eq!(o.number, "000000042");
        assert_eq!(o.total.amount, "36.39");
        assert_eq!(o.total.currency, "USD");
        assert_eq!(o.status, OrderStatus::Processing);
        assert_eq!(o.updated_at.to_string(), "2026-11-20T15:03:10Z");
        let c = o.customer.as_ref().unwrap();
        assert_eq!(c.id, "7");
        assert_eq!(c.first_name.as_deref(), Some("Veronica"));
        let item = &o.line_items[0];
        assert_eq!(item.id, "91");
        assert_eq!(item.sku.as_deref(), Some("WS03-XS-Red"));
        assert_eq!(item.quantity, "1");
        assert_eq!(item.price, "29");
    }

    #[test]
    fn wrapped_webhooks_and_configurable_children() {
        let body = json!({"type": "orders/updated", "data": {
            "entity_id": 3, "increment_id": "000000003", "customer_email": "a@example.com",
            "state": "canceled", "created_at": "2026-11-20 15:01:02",
            "updated_at": "2026-11-20 15:03:10", "grand_total": "10.00",
            "order_currency_code": "EUR",
            "items": [{"item_id": 1, "sku": "P", "name": "Parent", "qty_ordered": 1, "price": 10},
                      {"item_id": 2, "sku": "P-S", "name": "Child", "qty_ordered": 1,
                       "price": 0, "parent_item_id": 1}]}});
        let Record::Order(o) = super::super::map_record(
            crate::model::StorePlatform::Magento,
            ObjectKind::Orders,
            &body,
        )
        .unwrap() else {
            panic!("not an order");
        };
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert_eq!(o.line_items.len(), 1);
        assert_eq!(o.customer.unwrap().id, "guest:a@example.com");
    }

    #[test]
    fn statuses() {
        assert_eq!(
            status(&json!({"state": "complete"})),
            OrderStatus::Completed
        );
        assert_eq!(status(&json!({"state": "holded"})), OrderStatus::OnHold);
        assert_eq!(status(&json!({"state": "closed"})), OrderStatus::Refunded);
        assert_eq!(status(&json!({"status": "pending"})), OrderStatus::Pending);
    }
}
