//! Canonical records into HubSpot writes, pure: batch-upsert inputs keyed by unique
//! properties (contacts by email; deals, line items and products by syncline's own unique
//! keys) and associations between them named by those keys (the client resolves ids).

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::model::{Checkout, Customer, LineItem, Order, Product, Record, StoreRef};

mod config;
mod schema;

pub use config::MappingConfig;
pub use schema::{
    GROUP, HubspotObject, LINE_ITEM_KEY, ORDER_KEY, PRODUCT_KEY, PropertySpec, required_properties,
};

/// One batch-upsert input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    pub object: HubspotObject,
    /// The value of `object.id_property()`.
    pub key: String,
    pub properties: BTreeMap<String, String>,
}

/// An association between two upserted objects, named by their unique keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub from: (HubspotObject, String),
    pub to: (HubspotObject, String),
}

/// A line item that should point at its product (`hs_product_id`), both by unique key;
/// the writer fills in the product's HubSpot id when the product is in HubSpot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRef {
    pub line_item: String,
    pub product: String,
}

/// Everything one record writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmWrites {
    pub upserts: Vec<Upsert>,
    pub associations: Vec<Link>,
    pub product_refs: Vec<ProductRef>,
}

/// What mapping a record decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Writes(CrmWrites),
    /// A checkout not yet abandoned: look again at this time.
    NotDueUntil(Timestamp),
    /// Nothing to write (e.g. a completed checkout: its order carries it).
    Skip(&'static str),
}

/// Why a record cannot be written. Permanent: the record goes to the dead letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("a customer without an email cannot become a HubSpot contact")]
    NoEmail,
}

impl MappingError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoEmail => "no_email",
        }
    }
}

/// Maps one record; `now` decides whether a checkout is abandoned yet.
pub fn map(
    store: &StoreRef,
    record: &Record,
    config: &MappingConfig,
    now: Timestamp,
) -> Result<Mapped, MappingError> {
    match record {
        Record::Customer(c) => Ok(Mapped::Writes(CrmWrites {
            upserts: vec![contact(c).ok_or(MappingError::NoEmail)?],
            ..CrmWrites::default()
        })),
        Record::Order(o) => Ok(Mapped::Writes(order(store, o, config))),
        Record::Product(p) => Ok(Mapped::Writes(product(store, p))),
        Record::Checkout(c) => Ok(checkout(store, c, config, now)),
    }
}

fn props(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
        .collect()
}

/// HubSpot treats emails case-insensitively; key contacts by the lower-cased address.
fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_ascii_lowercase();
    (!email.is_empty()).then_some(email)
}

fn contact(c: &Customer) -> Option<Upsert> {
    let email = normalize_email(c.email.as_deref()?)?;
    Some(Upsert {
        object: HubspotObject::Contacts,
        properties: props(&[
            ("email", Some(&email)),
            ("firstname", c.first_name.as_deref()),
            ("lastname", c.last_name.as_deref()),
            ("phone", c.phone.as_deref()),
        ]),
        key: email,
    })
}

/// The contact of an order or checkout: its customer, else a bare contact from its email.
fn buyer(customer: Option<&Customer>, email: Option<&str>) -> Option<Upsert> {
    let from_customer = customer.and_then(contact);
    from_customer.or_else(|| {
        let email = normalize_email(email?)?;
        Some(Upsert {
            object: HubspotObject::Contacts,
            properties: props(&[("email", Some(&email))]),
            key: email,
        })
    })
}

fn line_item(deal_key: &str, item: &LineItem) -> Upsert {
    // HubSpot shows line items by name; a store that sent none still gets a readable one.
    let name = if item.name.trim().is_empty() {
        item.sku
            .clone()
            .unwrap_or_else(|| format!("Line item {}", item.id))
    } else {
        item.name.clone()
    };
    Upsert {
        object: HubspotObject::LineItems,
        key: format!("{deal_key}:{}", item.id),
        properties: props(&[
            ("name", Some(&name)),
            ("quantity", Some(&item.quantity)),
            ("price", Some(&item.price)),
            ("hs_sku", item.sku.as_deref()),
        ]),
    }
}

/// The unique key of a product variant: by SKU when it has one, else by product and
/// variant id. Products and the line items that point at them both key through here.
fn product_key(
    store: &StoreRef,
    product: &str,
    variant: Option<&str>,
    sku: Option<&str>,
) -> String {
    match (sku, variant) {
        (Some(sku), _) => store.key(&format!("sku:{sku}")),
        (None, Some(variant)) => store.key(&format!("{product}:{variant}")),
        (None, None) => store.key(product),
    }
}

/// Deal, contact, line items, and their associations (and their products, when synced).
fn deal_writes(
    store: &StoreRef,
    config: &MappingConfig,
    deal: Upsert,
    contact: Option<Upsert>,
    items: &[LineItem],
) -> CrmWrites {
    let deal_ref = (HubspotObject::Deals, deal.key.clone());
    let mut writes = CrmWrites::default();
    if let Some(contact) = contact {
        writes.associations.push(Link {
            from: deal_ref.clone(),
            to: (HubspotObject::Contacts, contact.key.clone()),
        });
        writes.upserts.push(contact);
    }
    for item in items {
        let upsert = line_item(&deal.key, item);
        writes.associations.push(Link {
            from: (HubspotObject::LineItems, upsert.key.clone()),
            to: deal_ref.clone(),
        });
        if let (true, Some(product)) = (config.link_products, item.product_id.as_deref()) {
            writes.product_refs.push(ProductRef {
                line_item: upsert.key.clone(),
                product: product_key(
                    store,
                    product,
                    item.variant_id.as_deref(),
                    item.sku.as_deref(),
                ),
            });
        }
        writes.upserts.push(upsert);
    }
    writes.upserts.insert(0, deal);
    writes
}

fn order(store: &StoreRef, o: &Order, config: &MappingConfig) -> CrmWrites {
    let stage = config.stages.get(&o.status).map(String::as_str);
    let closedate = o.created_at.to_string();
    let deal = Upsert {
        object: HubspotObject::Deals,
        key: store.key(&o.id),
        properties: props(&[
            ("dealname", Some(&format!("Order {}", o.number))),
            ("amount", Some(&o.total.amount)),
            ("deal_currency_code", Some(&o.total.currency)),
            ("pipeline", Some(&config.pipeline)),
            ("dealstage", stage),
            ("closedate", Some(&closedate)),
        ]),
    };
    deal_writes(
        store,
        config,
        deal,
        buyer(o.customer.as_ref(), o.email.as_deref()),
        &o.line_items,
    )
}

fn checkout(store: &StoreRef, c: &Checkout, config: &MappingConfig, now: Timestamp) -> Mapped {
    if c.completed_at.is_some() {
        return Mapped::Skip("checkout_completed");
    }
    let due = c
        .updated_at
        .checked_add(config.abandoned_after)
        .unwrap_or(c.updated_at);
    if now < due {
        return Mapped::NotDueUntil(due);
    }
    let deal = Upsert {
        object: HubspotObject::Deals,
        key: store.key(&format!("checkout:{}", c.id)),
        properties: props(&[
            ("dealname", Some(&format!("Abandoned checkout {}", c.id))),
            ("amount", Some(&c.total.amount)),
            ("deal_currency_code", Some(&c.total.currency)),
            ("pipeline", Some(&config.pipeline)),
            ("dealstage", Some(&config.abandoned_stage)),
        ]),
    };
    Mapped::Writes(deal_writes(
        store,
        config,
        deal,
        buyer(None, c.email.as_deref()),
        &c.line_items,
    ))
}

fn product(store: &StoreRef, p: &Product) -> CrmWrites {
    let single = [crate::model::Variant {
        id: None,
        sku: None,
        price: None,
    }];
    let variants = if p.variants.is_empty() {
        &single[..]
    } else {
        &p.variants[..]
    };
    let upserts = variants
        .iter()
        .map(|v| {
            let key = product_key(store, &p.id, v.id.as_deref(), v.sku.as_deref());
            Upsert {
                object: HubspotObject::Products,
                key,
                properties: props(&[
                    ("name", Some(&p.name)),
                    ("price", v.price.as_deref()),
                    ("hs_sku", v.sku.as_deref()),
                ]),
            }
        })
        .collect();
    CrmWrites {
        upserts,
        ..CrmWrites::default()
    }
}

#[cfg(test)]
mod tests;
