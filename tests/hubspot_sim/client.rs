//! The HubSpot client against the simulator over real HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use syncline::connectors::crm::hubspot::mapping::{
    self, HubspotObject, Mapped, MappingConfig, Upsert, required_properties,
};
use syncline::connectors::crm::hubspot::{CrmError, FailureClass, HubspotClient};
use syncline::connectors::store::map_record;
use syncline::model::{ObjectKind, StorePlatform, StoreRef};

use crate::api::{get, post};
use crate::support::hubspot::{HubspotSim, TOKEN};

fn client(sim: &HubspotSim) -> HubspotClient {
    HubspotClient::new(sim.url(""), TOKEN, Duration::from_secs(5)).unwrap()
}

fn contact(email: &str) -> Upsert {
    Upsert {
        object: HubspotObject::Contacts,
        key: email.into(),
        properties: [("email".to_string(), email.to_string())].into(),
    }
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_creates_unique_keys() {
    let sim = HubspotSim::with_limit(100).await;
    let c = client(&sim);
    c.bootstrap(&required_properties()).await.unwrap();
    c.bootstrap(&required_properties()).await.unwrap();
    for (object, name) in [
        ("deals", "syncline_order_key"),
        ("products", "syncline_product_key"),
        ("line_items", "syncline_line_item_key"),
    ] {
        let p = get(&sim, &format!("/crm/v3/properties/{object}/{name}")).await;
        assert_eq!(p["hasUniqueValue"], true, "{object}.{name}");
        assert_eq!(p["groupName"], "syncline");
    }
}

#[tokio::test]
async fn a_mapped_shopify_order_lands_with_its_associations() {
    let sim = HubspotSim::with_limit(100).await;
    let c = client(&sim);
    c.bootstrap(&required_properties()).await.unwrap();
    let body: Value = serde_json::from_str(include_str!(
        "../../src/connectors/store/fixtures/shopify_order.json"
    ))
    .unwrap();
    let record = map_record(StorePlatform::Shopify, ObjectKind::Orders, &body).unwrap();
    let store = StoreRef::new(StorePlatform::Shopify, "acme");
    let Mapped::Writes(writes) = mapping::map(
        &store,
        &record,
        &MappingConfig::default(),
        jiff::Timestamp::now(),
    )
    .unwrap() else {
        panic!("an order always writes");
    };
    let mut ids = std::collections::BTreeMap::new();
    for object in HubspotObject::ALL {
        let inputs: Vec<Upsert> = writes
            .upserts
            .iter()
            .filter(|u| u.object == object)
            .cloned()
            .collect();
        let outcome = c.batch_upsert(object, &inputs).await.unwrap();
        assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
        assert_eq!(outcome.ids.len(), inputs.len());
        for (key, id) in outcome.ids {
            ids.insert((object, key), id);
        }
    }
    for link in &writes.associations {
        let pair = (ids[&link.from].clone(), ids[&link.to].clone());
        let refused = c.associate(link.from.0, link.to.0, &[pair]).await.unwrap();
        assert!(refused.is_empty());
    }
    let deals = get(&sim, "/_sim/objects/deals").await;
    assert_eq!(deals["results"][0]["properties"]["dealstage"], "closedwon");
    let associations = get(&sim, "/_sim/associations").await;
    assert_eq!(associations["results"].as_array().unwrap().len(), 4);
    // A redelivery upserts the same objects: nothing new, no duplicates.
    let again = c
        .batch_upsert(HubspotObject::Deals, &writes.upserts[..1])
        .await
        .unwrap();
    assert_eq!(again.ids.len(), 1);
    let stats = get(&sim, "/_sim/stats").await;
    assert_eq!(stats["objects"]["deals"], 1);
    assert_eq!(stats["duplicates"], json!([]));
}

#[tokio::test]
async fn a_207_reports_the_refused_input_by_key() {
    let sim = HubspotSim::with_limit(100).await;
    let outcome = client(&sim)
        .batch_upsert(
            HubspotObject::Contacts,
            &[contact("jon@example.com"), contact("not-an-email")],
        )
        .await
        .unwrap();
    assert_eq!(outcome.ids.len(), 1);
    assert!(outcome.ids.contains_key("jon@example.com"));
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].key, "not-an-email");
    assert_eq!(outcome.failures[0].category, "VALIDATION_ERROR");
}

#[tokio::test]
async fn failures_are_classified() {
    let sim = HubspotSim::with_limit(1).await;
    let bad = HubspotClient::new(sim.url(""), "wrong", Duration::from_secs(5)).unwrap();
    let e = bad
        .batch_upsert(HubspotObject::Contacts, &[contact("a@example.com")])
        .await
        .unwrap_err();
    assert!(
        matches!(e, CrmError::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    assert_eq!(FailureClass::of(&e), FailureClass::Unauthorized);

    let c = client(&sim);
    c.batch_upsert(HubspotObject::Contacts, &[contact("a@example.com")])
        .await
        .unwrap();
    let e = c
        .batch_upsert(HubspotObject::Contacts, &[contact("b@example.com")])
        .await
        .unwrap_err();
    assert!(matches!(FailureClass::of(&e), FailureClass::Outage { .. }));
    assert_eq!(
        e,
        CrmError::RateLimited {
            policy: "TEN_SECONDLY_ROLLING".into(),
            retry_after: Duration::from_secs(10),
        }
    );

    let sim = HubspotSim::with_limit(1000).await;
    let c = client(&sim);
    post(
        &sim,
        "/_sim/faults",
        json!({"burst429": 1, "retryAfterSecs": 3}),
    )
    .await;
    let e = c.bootstrap(&required_properties()).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    post(&sim, "/_sim/faults", json!({"outageMs": 60_000})).await;
    let e = c.bootstrap(&required_properties()).await.unwrap_err();
    assert!(matches!(e, CrmError::Server { status: 503, .. }), "{e:?}");
    assert!(matches!(FailureClass::of(&e), FailureClass::Outage { .. }));
    post(&sim, "/_sim/faults", json!({"latencyMs": 2_000})).await;
    let impatient = HubspotClient::new(sim.url(""), TOKEN, Duration::from_millis(200)).unwrap();
    let e = impatient
        .bootstrap(&required_properties())
        .await
        .unwrap_err();
    assert_eq!(e, CrmError::Timeout);

    let inputs: Vec<Upsert> = (0..101)
        .map(|i| contact(&format!("u{i}@example.com")))
        .collect();
    let e = c
        .batch_upsert(HubspotObject::Contacts, &inputs)
        .await
        .unwrap_err();
    assert_eq!(e, CrmError::BatchTooLarge(101));
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connection_error() {
    let port = crate::support::redis::free_port();
    let c = HubspotClient::new(
        format!("http://127.0.0.1:{port}"),
        TOKEN,
        Duration::from_secs(2),
    )
    .unwrap();
    let e = c
        .batch_upsert(HubspotObject::Contacts, &[contact("a@example.com")])
        .await
        .unwrap_err();
    assert!(matches!(e, CrmError::Connection(_)), "{e:?}");
    assert!(matches!(FailureClass::of(&e), FailureClass::Outage { .. }));
}

#[tokio::test]
async fn a_validation_400_is_permanent() {
    let sim = HubspotSim::with_limit(100).await;
    // Deals have no syncline_order_key until bootstrap: HubSpot refuses the whole batch.
    let deal = Upsert {
        object: HubspotObject::Deals,
        key: "shopify:acme:1".into(),
        properties: Default::default(),
    };
    let e = client(&sim)
        .batch_upsert(HubspotObject::Deals, &[deal])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CrmError::Rejected { status: 400, category, .. } if category == "VALIDATION_ERROR"),
        "{e:?}"
    );
    assert!(matches!(
        FailureClass::of(&e),
        FailureClass::Permanent { .. }
    ));
}
