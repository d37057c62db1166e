//! Which upsert inputs a batch still has to send, and what each says: the inputs of
//! events still fine, minus what each landed before, merged by key across the events
//! sharing them. Inputs are built at send time from the owners still holding their
//! leases, so an event that lost its lease contributes nothing to a shared input.

use std::collections::BTreeMap;

use super::{EventOutcome, EventWrites, WriteFailure};
use crate::connectors::crm::hubspot::mapping::{HubspotObject, Upsert};
use crate::connectors::crm::hubspot::{FailureClass, InputFailure};

/// The line item property that points at its product's HubSpot id.
const PRODUCT_ID_PROPERTY: &str = "hs_product_id";

/// What inputs are built from.
pub(super) struct Sources<'a> {
    pub events: &'a [EventWrites<'a>],
    /// Line item key → the HubSpot id of its product.
    pub product_links: BTreeMap<String, String>,
}

/// The keys of type `object` still to send, each with the events needing it, in order.
pub(super) fn pending(
    events: &[EventWrites<'_>],
    out: &[EventOutcome],
    object: HubspotObject,
) -> Vec<(String, Vec<usize>)> {
    let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        if out[i].failure.is_some() {
            continue;
        }
        let unsent = event
            .writes
            .upserts
            .iter()
            .filter(|u| u.object == object && event.landed.get(object, &u.key).is_none());
        for u in unsent {
            let wanting = owners.entry(u.key.clone()).or_default();
            if wanting.last() != Some(&i) {
                wanting.push(i);
            }
        }
    }
    owners.into_iter().collect()
}

impl Sources<'_> {
    /// The input for `key` as `owners` want it: their properties merged in order (a later
    /// event's win), plus the product link of a line item.
    pub fn input(&self, object: HubspotObject, key: &str, owners: &[usize]) -> Upsert {
        let mut input = Upsert {
            object,
            key: key.to_owned(),
            properties: BTreeMap::new(),
        };
        let wanted = owners
            .iter()
            .filter_map(|&i| self.events.get(i))
            .flat_map(|e| e.writes.upserts.iter())
            .filter(|u| u.object == object && u.key == key);
        for u in wanted {
            input.properties.extend(u.properties.clone());
        }
        if let Some(product) = self.product_links.get(key) {
            input
                .properties
                .insert(PRODUCT_ID_PROPERTY.to_owned(), product.clone());
        }
        input
    }
}

/// The failure HubSpot reported for one input of a 207, by category.
pub(super) fn input_failure(failures: &[InputFailure], key: &str) -> WriteFailure {
    match failures.iter().find(|f| f.key == key) {
        Some(f) if f.category == "MISSING_RESULT" => WriteFailure {
            class: FailureClass::Transient,
            message: f.message.clone(),
        },
        Some(f) => WriteFailure {
            class: FailureClass::Permanent {
                reason: "crm_rejected",
            },
            message: format!("{}: {}", f.category, f.message),
        },
        None => WriteFailure {
            class: FailureClass::Transient,
            message: "HubSpot returned no result for this input".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::crm::hubspot::mapping::CrmWrites;
    use crate::worker::landed::Landed;

    fn upsert(object: HubspotObject, key: &str, props: &[(&str, &str)]) -> Upsert {
        Upsert {
            object,
            key: key.into(),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn writes(upserts: Vec<Upsert>) -> CrmWrites {
        CrmWrites {
            upserts,
            associations: Vec::new(),
            product_refs: Vec::new(),
        }
    }

    fn outcome(failed: bool) -> EventOutcome {
        EventOutcome {
            failure: failed.then(crate::worker::lease::lease_lost),
            landed: Landed::default(),
        }
    }

    #[test]
    fn pending_inputs_skip_failed_events_and_what_landed_before() {
        use HubspotObject::{Contacts, Deals};
        let a = writes(vec![
            upsert(Contacts, "a@x", &[("firstname", "A")]),
            upsert(Deals, "o1", &[("amount", "1.00")]),
        ]);
        let b = writes(vec![upsert(Contacts, "a@x", &[("lastname", "B")])]);
        let c = writes(vec![upsert(Contacts, "c@x", &[])]);
        let mut landed_a = Landed::default();
        landed_a.insert(Deals, "o1".into(), "101".into());
        let none = Landed::default();
        let events = [
            EventWrites {
                writes: &a,
                landed: &landed_a,
                retry: true,
            },
            EventWrites {
                writes: &b,
                landed: &none,
                retry: false,
            },
            EventWrites {
                writes: &c,
                landed: &none,
                retry: false,
            },
        ];
        let out = [outcome(false), outcome(false), outcome(true)];
        assert_eq!(
            pending(&events, &out, Contacts),
            vec![("a@x".to_owned(), vec![0, 1])]
        );
        assert!(pending(&events, &out, Deals).is_empty());
    }

    #[test]
    fn an_input_holds_only_what_its_owners_say_later_ones_winning() {
        use HubspotObject::{Contacts, LineItems};
        let a = writes(vec![upsert(
            Contacts,
            "a@x",
            &[("firstname", "Old"), ("phone", "1")],
        )]);
        let b = writes(vec![upsert(Contacts, "a@x", &[("firstname", "New")])]);
        let item = writes(vec![upsert(LineItems, "o1:1", &[("quantity", "2")])]);
        let none = Landed::default();
        let event = |w| EventWrites {
            writes: w,
            landed: &none,
            retry: false,
        };
        let events = [event(&a), event(&b), event(&item)];
        let sources = Sources {
            events: &events,
            product_links: [("o1:1".to_owned(), "55".to_owned())].into(),
        };
        let both = sources.input(Contacts, "a@x", &[0, 1]);
        assert_eq!(both.properties["firstname"], "New");
        assert_eq!(both.properties["phone"], "1");
        // Without event 0 (its lease lost), nothing of it is sent.
        let only_b = sources.input(Contacts, "a@x", &[1]);
        assert_eq!(only_b.properties.len(), 1);
        assert_eq!(only_b.properties["firstname"], "New");
        let linked = sources.input(LineItems, "o1:1", &[2]);
        assert_eq!(linked.properties[PRODUCT_ID_PROPERTY], "55");
        assert_eq!(linked.properties["quantity"], "2");
    }
}
