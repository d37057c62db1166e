//! Every body shape each platform's senders use, through the one reader the receiver and
//! the worker share.

use serde_json::{Value, json};

use super::*;

fn shopify_order() -> Value {
    json!({"id": 820982911946154508u64, "name": "#1001", "email": "jon@example.com",
           "created_at": "2026-11-20T10:01:02-05:00", "updated_at": "2026-11-20T10:01:02-05:00",
           "currency": "USD", "total_price": "403.00", "financial_status": "paid",
           "line_items": [{"id": 1, "sku": "A", "title": "A", "quantity": 1, "price": "1.00"}]})
}

fn woo_order() -> Value {
    json!({"id": 727, "number": "727", "status": "processing", "currency": "USD",
           "total": "29.35", "order_key": "wc_order_x", "date_created_gmt": "2026-11-20T15:01:02",
           "date_modified_gmt": "2026-11-20T15:03:10", "customer_id": 0,
           "billing": {"email": "john.doe@example.com"},
           "line_items": [{"id": 315, "name": "Woo", "product_id": 93, "quantity": 2,
                           "sku": "WOO-1", "price": 6.0, "total": "12.00"}]})
}

fn magento_order() -> Value {
    json!({"entity_id": 42, "increment_id": "000000042", "customer_id": 7,
           "customer_email": "roni_cost@example.com", "status": "processing",
           "state": "processing", "created_at": "2026-11-20 15:01:02",
           "updated_at": "2026-11-20 15:03:10", "grand_total": 36.39,
           "order_currency_code": "USD",
           "items": [{"item_id": 91, "sku": "WS03", "name": "Top", "qty_ordered": 1, "price": 29}]})
}

fn magento_customer() -> Value {
    json!({"id": 7, "group_id": 1, "email": "roni_cost@example.com", "firstname": "Veronica",
           "lastname": "Costello", "website_id": 1, "updated_at": "2026-11-20 15:03:10"})
}

fn magento_product() -> Value {
    json!({"id": 1428, "sku": "WS03-XS-Red", "name": "Iris Workout Top", "price": 29,
           "attribute_set_id": 9, "type_id": "simple", "updated_at": "2026-11-20 15:03:10"})
}

fn wrap(topic: &str, data: Value) -> Value {
    json!({"type": topic, "timestamp": "2026-11-20T15:03:11Z", "data": data})
}

fn object(d: Result<Delivered, UnreadableDelivery>) -> (String, ObjectKind, String) {
    match d {
        Ok(Delivered::Object { topic, record }) => (topic, record.kind(), record.id().to_owned()),
        other => panic!("not an object: {other:?}"),
    }
}

#[test]
fn every_sender_shape_is_read_as_its_object() {
    use StorePlatform::*;
    let cases: Vec<(StorePlatform, Option<&str>, Value, ObjectKind, &str)> = vec![
        // Shopify: its own webhooks (topic header, bare resource) and Standard Webhooks.
        (
            Shopify,
            Some("orders/create"),
            shopify_order(),
            ObjectKind::Orders,
            "820982911946154508",
        ),
        (
            Shopify,
            None,
            wrap("orders/updated", shopify_order()),
            ObjectKind::Orders,
            "820982911946154508",
        ),
        (
            Shopify,
            None,
            shopify_order(),
            ObjectKind::Orders,
            "820982911946154508",
        ),
        // WooCommerce: its own webhooks and Standard Webhooks.
        (
            WooCommerce,
            Some("order.updated"),
            woo_order(),
            ObjectKind::Orders,
            "727",
        ),
        (
            WooCommerce,
            None,
            wrap("order.updated", woo_order()),
            ObjectKind::Orders,
            "727",
        ),
        (WooCommerce, None, woo_order(), ObjectKind::Orders, "727"),
        // Magento: the bare REST entity (what the common extensions send), with or without
        // a topic, and the `{type, data}` envelope.
        (Magento, None, magento_order(), ObjectKind::Orders, "42"),
        (
            Magento,
            Some("sales.order.created"),
            magento_order(),
            ObjectKind::Orders,
            "42",
        ),
        (
            Magento,
            None,
            wrap("orders/create", magento_order()),
            ObjectKind::Orders,
            "42",
        ),
        (
            Magento,
            None,
            json!({"data": magento_order()}),
            ObjectKind::Orders,
            "42",
        ),
        (
            Magento,
            None,
            magento_customer(),
            ObjectKind::Customers,
            "7",
        ),
        (
            Magento,
            None,
            wrap("customers/update", magento_customer()),
            ObjectKind::Customers,
            "7",
        ),
        (
            Magento,
            None,
            magento_product(),
            ObjectKind::Products,
            "1428",
        ),
        (
            Magento,
            Some("catalog_product_save_after"),
            magento_product(),
            ObjectKind::Products,
            "1428",
        ),
    ];
    for (platform, header, body, kind, id) in cases {
        let (_, got_kind, got_id) = object(read(platform, header, &body));
        assert_eq!(
            (got_kind, got_id.as_str()),
            (kind, id),
            "{platform:?} {header:?} {body}"
        );
    }
}

#[test]
fn topics_come_from_the_header_then_the_envelope_then_the_shape() {
    let (topic, ..) = object(read(StorePlatform::Magento, None, &magento_order()));
    assert_eq!(topic, "orders/unnamed");
    let (topic, ..) = object(read(
        StorePlatform::Magento,
        None,
        &wrap("orders/create", magento_order()),
    ));
    assert_eq!(topic, "orders/create");
    let (topic, ..) = object(read(
        StorePlatform::Shopify,
        Some("orders/paid"),
        &wrap("orders/create", shopify_order()),
    ));
    assert_eq!(topic, "orders/paid");
}

#[test]
fn deletions_are_recognised_not_mapped() {
    let d = read(
        StorePlatform::WooCommerce,
        Some("order.deleted"),
        &json!({"id": 727}),
    );
    assert_eq!(
        d,
        Ok(Delivered::Deletion {
            topic: "order.deleted".into(),
            kind: ObjectKind::Orders
        })
    );
}

#[test]
fn what_cannot_be_synced_says_why() {
    let unknown = read(StorePlatform::Magento, None, &json!({"hello": "world"})).unwrap_err();
    assert_eq!(unknown, UnreadableDelivery::UnknownObject("magento"));
    assert!(unknown.to_string().contains("no topic"), "{unknown}");
    let topic = read(
        StorePlatform::Shopify,
        Some("app/uninstalled"),
        &json!({"id": 1}),
    )
    .unwrap_err();
    assert!(topic.to_string().contains("app/uninstalled"), "{topic}");
    let mut order = magento_order();
    order.as_object_mut().unwrap().remove("updated_at");
    let missing = read(StorePlatform::Magento, None, &order).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the order in the body cannot be read: field `updated_at` is missing or empty"
    );
    let not_object = read(
        StorePlatform::Shopify,
        Some("orders/create"),
        &json!([1, 2]),
    )
    .unwrap_err();
    assert!(matches!(
        not_object,
        UnreadableDelivery::Unmappable {
            error: MapError::NotAnObject,
            ..
        }
    ));
}

#[test]
fn kinds_from_topics_of_every_platform() {
    for (topic, kind) in [
        ("orders/create", Some(ObjectKind::Orders)),
        ("order.updated", Some(ObjectKind::Orders)),
        ("customers/update", Some(ObjectKind::Customers)),
        ("customer.created", Some(ObjectKind::Customers)),
        ("products/update", Some(ObjectKind::Products)),
        ("checkouts/create", Some(ObjectKind::Carts)),
        ("sales.order.created", Some(ObjectKind::Orders)),
        ("catalog_product_save_after", Some(ObjectKind::Products)),
        ("app/uninstalled", None),
        ("", None),
    ] {
        assert_eq!(kind_from_topic(topic), kind, "{topic}");
    }
}
