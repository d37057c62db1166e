use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::connectors::store::map_record;
use crate::model::{ObjectKind, OrderStatus, StorePlatform};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn record(platform: StorePlatform, kind: ObjectKind, body: &str) -> Record {
    let v: Value = serde_json::from_str(body).unwrap();
    map_record(platform, kind, &v).unwrap()
}

fn writes(mapped: Mapped) -> CrmWrites {
    match mapped {
        Mapped::Writes(w) => w,
        other => panic!("expected writes, got {other:?}"),
    }
}

fn acme(platform: StorePlatform) -> StoreRef {
    StoreRef::new(platform, "acme")
}

fn shopify_order() -> Record {
    record(
        StorePlatform::Shopify,
        ObjectKind::Orders,
        include_str!("../../../store/fixtures/shopify_order.json"),
    )
}

#[test]
fn the_shopify_sample_order_becomes_the_contract_sample_deal() {
    let w = writes(
        map(
            &acme(StorePlatform::Shopify),
            &shopify_order(),
            &MappingConfig::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap(),
    );
    let deal = &w.upserts[0];
    assert_eq!(deal.object, HubspotObject::Deals);
    assert_eq!(deal.key, "shopify:acme:820982911946154508");
    // Exactly the properties of the contracts doc's batch-upsert sample.
    let expected: BTreeMap<String, String> = serde_json::from_value(json!({
        "dealname": "Order #1001", "amount": "403.00", "deal_currency_code": "USD",
        "pipeline": "default", "dealstage": "closedwon", "closedate": "2026-11-20T15:01:02Z"}))
    .unwrap();
    assert_eq!(deal.properties, expected);
    let contact = &w.upserts[1];
    assert_eq!(contact.object, HubspotObject::Contacts);
    assert_eq!(contact.key, "jon@example.com");
    assert_eq!(contact.properties["firstname"], "Jon");
    assert!(!contact.properties.contains_key("phone"));
    let item = &w.upserts[2];
    assert_eq!(item.object, HubspotObject::LineItems);
    assert_eq!(
        item.key,
        "shopify:acme:820982911946154508:866550311766439020"
    );
    assert_eq!(item.properties["quantity"], "2");
    assert_eq!(item.properties["price"], "199.00");
    assert_eq!(item.properties["hs_sku"], "IPOD2008PINK");
    assert_eq!(
        w.associations,
        vec![
            Link {
                from: (HubspotObject::Deals, deal.key.clone()),
                to: (HubspotObject::Contacts, "jon@example.com".into()),
            },
            Link {
                from: (HubspotObject::LineItems, item.key.clone()),
                to: (HubspotObject::Deals, deal.key.clone()),
            },
        ]
    );
}

#[test]
fn woocommerce_and_magento_samples_map_to_deals_and_contacts() {
    let woo = record(
        StorePlatform::WooCommerce,
        ObjectKind::Orders,
        include_str!("../../../store/fixtures/woocommerce_order.json"),
    );
    let w = writes(
        map(
            &acme(StorePlatform::WooCommerce),
            &woo,
            &MappingConfig::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap(),
    );
    assert_eq!(w.upserts[0].key, "woocommerce:acme:727");
    assert_eq!(w.upserts[0].properties["amount"], "29.35");
    assert_eq!(w.upserts[0].properties["dealstage"], "closedwon");
    assert_eq!(w.upserts[1].key, "john.doe@example.com");
    assert_eq!(w.upserts[1].properties["phone"], "(555) 555-5555");

    let page: Value =
        serde_json::from_str(include_str!("../../../store/fixtures/magento_orders.json")).unwrap();
    let magento = map_record(
        StorePlatform::Magento,
        ObjectKind::Orders,
        &page["items"][0],
    )
    .unwrap();
    let w = writes(
        map(
            &acme(StorePlatform::Magento),
            &magento,
            &MappingConfig::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap(),
    );
    assert_eq!(w.upserts[0].key, "magento:acme:42");
    assert_eq!(w.upserts[0].properties["dealname"], "Order 000000042");
    assert_eq!(w.upserts[0].properties["amount"], "36.39");
    assert_eq!(w.upserts[0].properties["closedate"], "2026-11-20T15:01:02Z");
    assert_eq!(w.upserts[1].key, "roni_cost@example.com");
}

#[test]
fn the_stage_mapping_is_configurable() {
    let mut config = MappingConfig::default();
    config
        .stages
        .insert(OrderStatus::Paid, "contractsent".into());
    config.pipeline = "shop".into();
    let w = writes(
        map(
            &acme(StorePlatform::Shopify),
            &shopify_order(),
            &config,
            Timestamp::UNIX_EPOCH,
        )
        .unwrap(),
    );
    assert_eq!(w.upserts[0].properties["dealstage"], "contractsent");
    assert_eq!(w.upserts[0].properties["pipeline"], "shop");
}

#[test]
fn checkouts_become_abandoned_deals_only_after_the_delay() {
    let body = json!({"id": 450789469, "email": "Bob.Norman@Hostmail.com",
        "total_price": "398.00", "currency": "USD",
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:05:00Z",
        "completed_at": null,
        "line_items": [{"variant_id": 808950810, "sku": "IPOD2008PINK", "title": "IPod",
                        "quantity": 2, "price": "199.00"}]});
    let checkout = map_record(StorePlatform::Shopify, ObjectKind::Carts, &body).unwrap();
    let store = acme(StorePlatform::Shopify);
    let config = MappingConfig {
        abandoned_stage: "abandoned".into(),
        abandoned_after: Duration::from_secs(1800),
        ..MappingConfig::default()
    };
    assert_eq!(
        map(&store, &checkout, &config, at("2026-11-20T10:20:00Z")).unwrap(),
        Mapped::NotDueUntil(at("2026-11-20T10:35:00Z"))
    );
    let w = writes(map(&store, &checkout, &config, at("2026-11-20T10:35:00Z")).unwrap());
    assert_eq!(w.upserts[0].key, "shopify:acme:checkout:450789469");
    assert_eq!(w.upserts[0].properties["dealstage"], "abandoned");
    assert_eq!(w.upserts[1].key, "bob.norman@hostmail.com");
    assert_eq!(
        w.upserts[2].key,
        "shopify:acme:checkout:450789469:808950810"
    );
    let mut completed = body.clone();
    completed["completed_at"] = json!("2026-11-20T10:06:00Z");
    let completed = map_record(StorePlatform::Shopify, ObjectKind::Carts, &completed).unwrap();
    assert_eq!(
        map(&store, &completed, &config, at("2026-11-21T00:00:00Z")).unwrap(),
        Mapped::Skip("checkout_completed")
    );
}

#[test]
fn customers_need_an_email_and_products_key_by_sku_or_id() {
    let store = acme(StorePlatform::Shopify);
    let config = MappingConfig::default();
    let now = Timestamp::UNIX_EPOCH;
    let no_email = map_record(
        StorePlatform::Shopify,
        ObjectKind::Customers,
        &json!({"id": 1, "updated_at": "2026-11-20T10:00:00Z"}),
    )
    .unwrap();
    assert_eq!(
        map(&store, &no_email, &config, now),
        Err(MappingError::NoEmail)
    );
    let product = map_record(
        StorePlatform::Shopify,
        ObjectKind::Products,
        &json!({"id": 632910392, "title": "IPod Nano", "updated_at": "2026-11-20T10:00:00Z",
                "variants": [{"id": 808950810, "sku": "IPOD2008PINK", "price": "199.00"},
                             {"id": 808950811, "sku": null, "price": "189.00"}]}),
    )
    .unwrap();
    let w = writes(map(&store, &product, &config, now).unwrap());
    let keys: Vec<&str> = w.upserts.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "shopify:acme:sku:IPOD2008PINK",
            "shopify:acme:632910392:808950811"
        ]
    );
    assert_eq!(w.upserts[1].properties["price"], "189.00");
    assert!(!w.upserts[1].properties.contains_key("hs_sku"));
}

/// The mapped inputs are accepted by the simulator's HubSpot model as they are: every
/// property exists, keys are unique properties, associations have default types.
#[test]
fn mapped_writes_are_valid_hubspot_inputs() {
    use crate::sim::hubspot::store::{Store, association_type_id};
    use crate::sim::hubspot::types::{GroupDef, ObjectType, PropertyDef, UpsertInput};
    let sim_type = |o: HubspotObject| ObjectType::parse(o.path()).unwrap();
    let mut sim = Store::new();
    for spec in required_properties() {
        let t = sim_type(spec.object);
        let _ = sim.create_group(
            t,
            GroupDef {
                name: GROUP.into(),
                label: GROUP.into(),
                display_order: 0,
            },
        );
        sim.create_property(
            t,
            PropertyDef {
                name: spec.name.into(),
                label: spec.label.into(),
                kind: "string".into(),
                field_type: "text".into(),
                group_name: GROUP.into(),
                has_unique_value: spec.unique,
            },
        )
        .unwrap();
    }
    let w = writes(
        map(
            &acme(StorePlatform::Shopify),
            &shopify_order(),
            &MappingConfig::default(),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap(),
    );
    for upsert in &w.upserts {
        let report = sim
            .batch_upsert(
                sim_type(upsert.object),
                vec![UpsertInput {
                    id_property: upsert.object.id_property().into(),
                    id: upsert.key.clone(),
                    properties: upsert.properties.clone(),
                    object_write_trace_id: None,
                }],
                "2026-11-20T15:01:03Z",
            )
            .unwrap();
        assert!(report.errors.is_empty(), "{upsert:?}: {:?}", report.errors);
    }
    for link in &w.associations {
        assert!(association_type_id(sim_type(link.from.0), sim_type(link.to.0)).is_some());
    }
}

#[test]
fn a_line_item_without_a_name_is_named_by_its_sku_or_id() {
    let store = StoreRef::new(StorePlatform::Shopify, "acme.myshopify.com");
    let mut item = LineItem {
        id: "9".into(),
        product_id: None,
        variant_id: None,
        sku: Some("SKU-9".into()),
        name: " ".into(),
        quantity: "1".into(),
        price: "2.00".into(),
    };
    assert_eq!(
        line_item(&store.key("1"), &item).properties["name"],
        "SKU-9"
    );
    item.sku = None;
    assert_eq!(
        line_item(&store.key("1"), &item).properties["name"],
        "Line item 9"
    );
}

#[test]
fn line_items_point_at_the_keys_their_products_are_written_under_when_products_sync() {
    let store = acme(StorePlatform::Shopify);
    let product = record(
        StorePlatform::Shopify,
        ObjectKind::Products,
        r#"{"id":632910392,"title":"IPod Nano","updated_at":"2026-11-20T10:01:02-05:00",
            "variants":[{"id":808950810,"sku":"IPOD2008PINK","price":"199.00"},
                        {"id":808950811,"sku":null,"price":"199.00"}]}"#,
    );
    let product_keys: Vec<String> = writes(
        map(
            &store,
            &product,
            &MappingConfig::default(),
            at("2026-11-21T00:00:00Z"),
        )
        .unwrap(),
    )
    .upserts
    .into_iter()
    .map(|u| u.key)
    .collect();
    let order = record(
        StorePlatform::Shopify,
        ObjectKind::Orders,
        r##"{"id":5,"name":"#5","email":"a@example.com","currency":"USD","total_price":"1.00",
            "financial_status":"paid","created_at":"2026-11-20T10:01:02-05:00",
            "updated_at":"2026-11-20T10:01:02-05:00",
            "line_items":[{"id":1,"product_id":632910392,"variant_id":808950810,"sku":"IPOD2008PINK","title":"A","quantity":1,"price":"1.00"},
                          {"id":2,"product_id":632910392,"variant_id":808950811,"sku":null,"title":"B","quantity":1,"price":"1.00"},
                          {"id":3,"product_id":null,"variant_id":null,"sku":null,"title":"Tip","quantity":1,"price":"1.00"}]}"##,
    );
    let linked = MappingConfig {
        link_products: true,
        ..MappingConfig::default()
    };
    let w = writes(map(&store, &order, &linked, at("2026-11-21T00:00:00Z")).unwrap());
    let refs: Vec<(&str, &str)> = w
        .product_refs
        .iter()
        .map(|r| (r.line_item.as_str(), r.product.as_str()))
        .collect();
    assert_eq!(
        refs,
        vec![
            ("shopify:acme:5:1", product_keys[0].as_str()),
            ("shopify:acme:5:2", product_keys[1].as_str()),
        ],
        "a custom line item without a product points at nothing"
    );
    let unlinked = writes(
        map(
            &store,
            &order,
            &MappingConfig::default(),
            at("2026-11-21T00:00:00Z"),
        )
        .unwrap(),
    );
    assert!(unlinked.product_refs.is_empty());
}
