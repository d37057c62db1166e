//! What each platform's REST API and webhooks return for a simulated object, in the shapes
//! of docs/api-contracts.md. Content derives from id and version (an order's total is
//! `<version>.00`), so tests can see which version reached the CRM. Pure.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use serde_json::{Value, json};

use super::data::StoredObject;
use crate::model::{ObjectKind, StorePlatform};

/// Shopify writes times in the shop's zone with an offset; the simulated shop is UTC-5.
pub fn shopify_time(t: Timestamp) -> String {
    let zone = TimeZone::fixed(Offset::constant(-5));
    t.to_zoned(zone)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// WooCommerce `*_gmt` fields: naive UTC with a `T`.
pub fn woo_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Magento: naive UTC with a space.
pub fn magento_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// The object as `platform` represents it.
pub fn render(platform: StorePlatform, o: &StoredObject) -> Value {
    match platform {
        StorePlatform::Shopify => shopify(o),
        StorePlatform::WooCommerce => woocommerce(o),
        StorePlatform::Magento => magento(o),
    }
}

fn total(o: &StoredObject) -> String {
    format!("{}.00", o.version)
}

fn shopify(o: &StoredObject) -> Value {
    let (id, v) = (o.id, o.version);
    let (created, updated) = (shopify_time(o.created_at), shopify_time(o.updated_at));
    let line = json!([{"id": id * 10, "product_id": 632910392, "variant_id": 808950810,
        "sku": "IPOD2008PINK", "title": "IPod Nano - 8GB", "quantity": 1, "price": total(o)}]);
    match o.kind {
        ObjectKind::Orders => json!({"id": id,
            "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
            "name": format!("#{id}"), "order_number": id, "email": format!("o{id}@example.com"),
            "created_at": created, "updated_at": updated, "currency": "USD",
            "total_price": total(o), "subtotal_price": total(o), "financial_status": "paid",
            "fulfillment_status": null, "cancelled_at": null,
            "customer": {"id": id + 1_000_000, "email": format!("o{id}@example.com"),
                "first_name": format!("v{v}"), "last_name": "Buyer", "phone": null,
                "created_at": created, "updated_at": updated},
            "line_items": line}),
        ObjectKind::Customers => json!({"id": id, "email": format!("c{id}@example.com"),
            "first_name": format!("v{v}"), "last_name": "Shopper", "phone": null,
            "created_at": created, "updated_at": updated, "orders_count": 0,
            "total_spent": "0.00"}),
        ObjectKind::Products => json!({"id": id, "title": format!("Product {id} v{v}"),
            "updated_at": updated, "variants": [{"id": id * 10, "sku": format!("SKU-{id}"),
                "price": total(o), "updated_at": updated}]}),
        ObjectKind::Carts => json!({"id": id, "token": format!("{id:032x}"),
            "email": format!("k{id}@example.com"),
            "abandoned_checkout_url": format!("https://acme.example/r/{id}"),
            "total_price": total(o), "currency": "USD", "line_items": line,
            "created_at": created, "updated_at": updated, "completed_at": null}),
    }
}

fn woocommerce(o: &StoredObject) -> Value {
    let (id, v) = (o.id, o.version);
    let (created, updated) = (woo_time(o.created_at), woo_time(o.updated_at));
    let billing = |email: String| {
        json!({"first_name": format!("v{v}"), "last_name": "Doe",
        "email": email, "phone": "(555) 555-5555"})
    };
    match o.kind {
        ObjectKind::Customers => json!({"id": id, "email": format!("c{id}@example.com"),
            "first_name": format!("v{v}"), "last_name": "Doe", "date_created_gmt": created,
            "date_modified_gmt": updated, "billing": billing(format!("c{id}@example.com"))}),
        // WordPress stores and returns names HTML-escaped, with `&ndash;` in variation titles.
        ObjectKind::Products => json!({"id": id, "name": format!("Product {id} &ndash; v{v}"),
            "sku": format!("SKU-{id}"), "price": total(o), "date_created_gmt": created,
            "date_modified_gmt": updated}),
        // WooCommerce has no checkouts; an order stands in if asked.
        ObjectKind::Orders | ObjectKind::Carts => json!({"id": id, "number": id.to_string(),
            "status": "processing", "currency": "USD", "total": total(o),
            "date_created_gmt": created, "date_modified_gmt": updated, "customer_id": 0,
            "billing": billing(format!("o{id}@example.com")),
            "line_items": [{"id": id * 10, "name": "Woo Single #1 &ndash; Black", "product_id": 93,
                "variation_id": 0, "quantity": 1, "sku": "WOO-1", "price": v,
                "total": total(o)}]}),
    }
}

fn magento(o: &StoredObject) -> Value {
    let (id, v) = (o.id, o.version);
    let (created, updated) = (magento_time(o.created_at), magento_time(o.updated_at));
    match o.kind {
        ObjectKind::Customers => json!({"id": id, "email": format!("c{id}@example.com"),
            "firstname": format!("v{v}"), "lastname": "Costello", "created_at": created,
            "updated_at": updated}),
        ObjectKind::Products => json!({"id": id, "sku": format!("SKU-{id}"),
            "name": format!("Product {id} v{v}"), "price": v, "created_at": created,
            "updated_at": updated}),
        ObjectKind::Orders | ObjectKind::Carts => json!({"entity_id": id,
            "increment_id": format!("{id:09}"), "customer_id": id + 1_000_000,
            "customer_email": format!("o{id}@example.com"), "customer_firstname": format!("v{v}"),
            "customer_lastname": "Costello", "status": "processing", "state": "processing",
            "created_at": created, "updated_at": updated, "grand_total": v,
            "order_currency_code": "USD", "items": [{"item_id": id * 10, "product_id": 1428,
                "sku": "WS03-XS-Red", "name": "Iris Workout Top", "qty_ordered": 1,
                "price": v}]}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::store::map_record;

    #[test]
    fn every_rendering_maps_back_to_its_object() {
        let at: Timestamp = "2026-11-20T15:01:02Z".parse().unwrap();
        for platform in [
            StorePlatform::Shopify,
            StorePlatform::WooCommerce,
            StorePlatform::Magento,
        ] {
            for kind in [
                ObjectKind::Orders,
                ObjectKind::Customers,
                ObjectKind::Products,
            ] {
                let o = StoredObject {
                    kind,
                    id: 42,
                    version: 3,
                    created_at: at,
                    updated_at: at,
                };
                let record = map_record(platform, kind, &render(platform, &o))
                    .unwrap_or_else(|e| panic!("{platform:?} {kind:?}: {e}"));
                assert_eq!(record.id(), "42");
                assert_eq!(record.updated_at(), at, "{platform:?} {kind:?}");
            }
        }
        assert_eq!(shopify_time(at), "2026-11-20T10:01:02-05:00");
        let o = StoredObject {
            kind: ObjectKind::Products,
            id: 23,
            version: 2,
            created_at: at,
            updated_at: at,
        };
        let woo = map_record(
            StorePlatform::WooCommerce,
            o.kind,
            &render(StorePlatform::WooCommerce, &o),
        );
        assert!(matches!(woo, Ok(crate::model::Record::Product(p)) if p.name == "Product 23 – v2"));
    }
}
