use std::collections::BTreeMap;

use super::*;
use crate::sim::hubspot::types::{Filter, FilterGroup, ObjectId};

const NOW: &str = "2026-11-20T15:01:03Z";

fn input(id_property: &str, id: &str, props: &[(&str, &str)]) -> UpsertInput {
    UpsertInput {
        id_property: id_property.into(),
        id: id.into(),
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        object_write_trace_id: None,
    }
}

fn order_key_property() -> PropertyDef {
    PropertyDef {
        name: "syncline_order_key".into(),
        label: "Order key".into(),
        kind: "string".into(),
        field_type: "text".into(),
        group_name: "syncline".into(),
        has_unique_value: true,
    }
}

fn with_order_key() -> Store {
    let mut store = Store::new();
    store
        .create_group(
            ObjectType::Deals,
            GroupDef {
                name: "syncline".into(),
                label: "syncline".into(),
                display_order: 0,
            },
        )
        .unwrap();
    store
        .create_property(ObjectType::Deals, order_key_property())
        .unwrap();
    store
}

#[test]
fn upsert_by_email_creates_then_updates_the_same_contact() {
    let mut store = Store::new();
    let first = store
        .batch_upsert(
            ObjectType::Contacts,
            vec![input("email", "jon@example.com", &[("firstname", "Jon")])],
            NOW,
        )
        .unwrap();
    assert!(first.errors.is_empty());
    assert!(first.results[0].new);
    let second = store
        .batch_upsert(
            ObjectType::Contacts,
            vec![input("email", "jon@example.com", &[("lastname", "Snow")])],
            NOW,
        )
        .unwrap();
    assert!(!second.results[0].new);
    assert_eq!(second.results[0].object.id, first.results[0].object.id);
    let objects = store.objects(ObjectType::Contacts);
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].properties["firstname"], "Jon");
    assert_eq!(objects[0].properties["lastname"], "Snow");
    assert_eq!(objects[0].properties["email"], "jon@example.com");
    assert_eq!(store.writes().len(), 2);
    assert!(store.duplicates().is_empty());
}

#[test]
fn id_property_must_be_unique_else_the_whole_batch_is_rejected() {
    let mut store = Store::new();
    let err = store
        .batch_upsert(
            ObjectType::Contacts,
            vec![input("firstname", "Jon", &[])],
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.category, Category::ValidationError);
    // Deals have no unique property until one is created.
    assert!(
        store
            .batch_upsert(
                ObjectType::Deals,
                vec![input("syncline_order_key", "a", &[])],
                NOW
            )
            .is_err()
    );
    let mut store = with_order_key();
    let report = store
        .batch_upsert(
            ObjectType::Deals,
            vec![input(
                "syncline_order_key",
                "shopify:acme:1",
                &[("amount", "1.00")],
            )],
            NOW,
        )
        .unwrap();
    assert_eq!(report.results.len(), 1);
    assert!(store.objects(ObjectType::Contacts).is_empty());
}

#[test]
fn too_many_inputs_and_duplicate_ids_reject_the_batch_and_write_nothing() {
    let mut store = Store::new();
    let many: Vec<_> = (0..=MAX_BATCH_INPUTS)
        .map(|i| input("email", &format!("u{i}@example.com"), &[]))
        .collect();
    assert!(store.batch_upsert(ObjectType::Contacts, many, NOW).is_err());
    let dup = vec![
        input("email", "a@example.com", &[]),
        input("email", "a@example.com", &[]),
    ];
    assert!(store.batch_upsert(ObjectType::Contacts, dup, NOW).is_err());
    assert!(store.objects(ObjectType::Contacts).is_empty());
    assert!(store.writes().is_empty());
}

#[test]
fn per_input_errors_leave_the_other_inputs_applied() {
    let mut store = Store::new();
    let report = store
        .batch_upsert(
            ObjectType::Contacts,
            vec![
                input("email", "good@example.com", &[]),
                input("email", "not-an-email", &[]),
                input("email", "other@example.com", &[("no_such_prop", "x")]),
            ],
            NOW,
        )
        .unwrap();
    assert_eq!(report.results.len(), 1);
    assert_eq!(report.errors.len(), 2);
    assert_eq!(
        report.errors[0].errors[0].code.as_deref(),
        Some("INVALID_EMAIL")
    );
    assert_eq!(
        report.errors[0].context["id"],
        vec!["not-an-email".to_string()]
    );
    assert_eq!(
        report.errors[1].errors[0].code.as_deref(),
        Some("PROPERTY_DOESNT_EXIST")
    );
    assert_eq!(store.objects(ObjectType::Contacts).len(), 1);
}

#[test]
fn properties_and_groups_conflict_when_they_exist() {
    let mut store = Store::new();
    // The group must exist first.
    let err = store
        .create_property(ObjectType::Deals, order_key_property())
        .unwrap_err();
    assert_eq!(err.category, Category::ValidationError);
    let mut store = with_order_key();
    let err = store
        .create_property(ObjectType::Deals, order_key_property())
        .unwrap_err();
    assert_eq!(err.category, Category::Conflict);
    let group = GroupDef {
        name: "syncline".into(),
        label: "x".into(),
        display_order: 0,
    };
    assert!(store.create_group(ObjectType::Deals, group).is_err());
    assert!(
        store
            .property(ObjectType::Deals, "syncline_order_key")
            .is_some()
    );
}

#[test]
fn search_matches_eq_filters_and_pages() {
    let mut store = Store::new();
    let inputs = (0..5)
        .map(|i| {
            input(
                "email",
                &format!("u{i}@example.com"),
                &[("lastname", if i % 2 == 0 { "Even" } else { "Odd" })],
            )
        })
        .collect();
    store
        .batch_upsert(ObjectType::Contacts, inputs, NOW)
        .unwrap();
    let request = |limit, after: Option<&str>| SearchRequest {
        filter_groups: vec![FilterGroup {
            filters: vec![Filter {
                property_name: "lastname".into(),
                operator: "EQ".into(),
                value: Some("Even".into()),
            }],
        }],
        properties: vec!["email".into()],
        limit: Some(limit),
        after: after.map(str::to_string),
    };
    let (total, page, next) = store
        .search(ObjectType::Contacts, &request(2, None))
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(page.len(), 2);
    assert!(!page[0].properties.contains_key("lastname"));
    let next = next.unwrap();
    let (_, page, last) = store
        .search(ObjectType::Contacts, &request(2, Some(&next)))
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(last, None);
    assert!(
        store
            .search(ObjectType::Contacts, &request(201, None))
            .is_err()
    );
}

#[test]
fn associations_need_both_objects_and_are_stored_both_ways() {
    let mut store = with_order_key();
    let contact = store
        .batch_upsert(
            ObjectType::Contacts,
            vec![input("email", "a@example.com", &[])],
            NOW,
        )
        .unwrap()
        .results[0]
        .object
        .id
        .clone();
    let deal = store
        .batch_upsert(
            ObjectType::Deals,
            vec![input("syncline_order_key", "k", &[])],
            NOW,
        )
        .unwrap()
        .results[0]
        .object
        .id
        .clone();
    let pair = |f: &str, t: &str| AssociationInput {
        from: ObjectId { id: f.into() },
        to: ObjectId { id: t.into() },
    };
    let (done, errors) = store
        .associate(
            ObjectType::Deals,
            ObjectType::Contacts,
            &[pair(&deal, &contact), pair(&deal, "999999")],
        )
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].type_id, 3);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].category, Category::ObjectNotFound);
    let all = store.associations();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|a| a.type_id == 4 && a.from_id == contact));
    assert!(
        store
            .associate(ObjectType::Contacts, ObjectType::Products, &[])
            .is_err()
    );
}

#[test]
fn a_second_unique_value_owned_by_another_object_is_a_conflict() {
    let mut store = with_order_key();
    store
        .create_property(
            ObjectType::Deals,
            PropertyDef {
                name: "syncline_alt_key".into(),
                has_unique_value: true,
                ..order_key_property()
            },
        )
        .unwrap();
    store
        .batch_upsert(
            ObjectType::Deals,
            vec![input(
                "syncline_order_key",
                "a",
                &[("syncline_alt_key", "x")],
            )],
            NOW,
        )
        .unwrap();
    let report = store
        .batch_upsert(
            ObjectType::Deals,
            vec![input(
                "syncline_order_key",
                "b",
                &[("syncline_alt_key", "x")],
            )],
            NOW,
        )
        .unwrap();
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].category, Category::Conflict);
    assert!(store.duplicates().is_empty());
}

#[test]
fn email_validation() {
    assert!(is_valid_email("jon@example.com"));
    for bad in [
        "",
        "jon",
        "@example.com",
        "jon@",
        "jon@example",
        "j on@example.com",
        "a@b@c.com",
    ] {
        assert!(!is_valid_email(bad), "{bad}");
    }
}
