//! The simulated CRM's state, pure (no I/O, time passed in): objects with unique-property
//! indexes, property definitions and groups, associations, a write log and a duplicate
//! detector that scans objects independently of the indexes.

mod inspect;
mod relate;
mod schema;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::types::{
    AssociationInput, BatchReadRequest, Category, CrmObject, ErrorBody, GroupDef, ObjectType,
    PropertyDef, SearchRequest, UpsertInput,
};

/// Most inputs one batch call accepts.
pub const MAX_BATCH_INPUTS: usize = 100;
/// Most results one search page returns.
pub const MAX_SEARCH_LIMIT: u32 = 200;

#[derive(Debug, Default)]
struct TypeState {
    properties: BTreeMap<String, PropertyDef>,
    groups: BTreeMap<String, GroupDef>,
    objects: BTreeMap<u64, CrmObject>,
    /// (unique property, value) → object id.
    unique: HashMap<(String, String), u64>,
}

/// One applied write, in order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WriteRecord {
    pub seq: u64,
    pub object_type: ObjectType,
    pub id: String,
    pub id_property: String,
    pub key: String,
    pub new: bool,
    pub properties: BTreeMap<String, String>,
    /// When the write was applied (Unix ms), for end-to-end latency figures.
    pub at_ms: u64,
}

/// Two objects sharing a unique value: a bug in whoever wrote them (or in the simulator).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Duplicate {
    pub object_type: ObjectType,
    pub property: String,
    pub value: String,
    pub ids: Vec<String>,
}

/// One successful upsert input.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertResult {
    pub object: CrmObject,
    pub new: bool,
    pub object_write_trace_id: Option<String>,
}

/// What a batch upsert did: per-input results and per-input errors (→ 200 or 207).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertReport {
    pub results: Vec<UpsertResult>,
    pub errors: Vec<ErrorBody>,
}

/// A created association, stored once per direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    pub from_type: ObjectType,
    pub from_id: String,
    pub to_type: ObjectType,
    pub to_id: String,
    pub type_id: u32,
}

/// HubSpot-defined default association type ids.
pub fn association_type_id(from: ObjectType, to: ObjectType) -> Option<u32> {
    use ObjectType::*;
    match (from, to) {
        (Contacts, Deals) => Some(4),
        (Deals, Contacts) => Some(3),
        (Deals, LineItems) => Some(19),
        (LineItems, Deals) => Some(20),
        _ => None,
    }
}

/// The whole simulated account.
#[derive(Debug)]
pub struct Store {
    types: BTreeMap<ObjectType, TypeState>,
    next_id: u64,
    seq: u64,
    associations: BTreeSet<Association>,
    writes: Vec<WriteRecord>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

fn validation(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(Category::ValidationError, message)
}

/// A plausible email, roughly as HubSpot validates it.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

impl Store {
    /// An account with HubSpot's built-in properties and default groups.
    pub fn new() -> Self {
        let mut types = BTreeMap::new();
        for object_type in ObjectType::ALL {
            let mut state = TypeState::default();
            let group = object_type.default_group();
            state.groups.insert(
                group.into(),
                GroupDef {
                    name: group.into(),
                    label: group.into(),
                    display_order: -1,
                },
            );
            let builtin = object_type
                .builtin_properties()
                .iter()
                .copied()
                .chain([("hs_object_id", true)]);
            for (name, unique) in builtin {
                state.properties.insert(
                    name.into(),
                    PropertyDef {
                        name: name.into(),
                        label: name.into(),
                        kind: "string".into(),
                        field_type: "text".into(),
                        group_name: group.into(),
                        has_unique_value: unique,
                    },
                );
            }
            types.insert(object_type, state);
        }
        Self {
            types,
            next_id: 1000,
            seq: 0,
            associations: BTreeSet::new(),
            writes: Vec::new(),
        }
    }

    fn state(&self, t: ObjectType) -> &TypeState {
        // Every type is inserted by `new`.
        &self.types[&t]
    }

    fn state_mut(&mut self, t: ObjectType) -> &mut TypeState {
        self.types.entry(t).or_default()
    }

    /// `batch/upsert`: a whole-batch problem is an `Err` (400); per-input problems are
    /// collected in the report's `errors` while the other inputs are applied.
    pub fn batch_upsert(
        &mut self,
        t: ObjectType,
        inputs: Vec<UpsertInput>,
        now: &str,
    ) -> Result<UpsertReport, ErrorBody> {
        if inputs.len() > MAX_BATCH_INPUTS {
            return Err(validation(format!(
                "Too many inputs: {} (the limit is {MAX_BATCH_INPUTS})",
                inputs.len()
            )));
        }
        let mut seen = BTreeSet::new();
        for input in &inputs {
            let unique = self
                .state(t)
                .properties
                .get(&input.id_property)
                .is_some_and(|p| p.has_unique_value && p.name != "hs_object_id");
            if !unique {
                return Err(validation(format!(
                    "Property {} is not a unique identifier property for {}",
                    input.id_property,
                    t.as_str()
                ))
                .with_detail(
                    "idProperty must be a property with hasUniqueValue",
                    "INVALID_ID_PROPERTY",
                    "idProperty",
                ));
            }
            if !seen.insert((input.id_property.clone(), input.id.clone())) {
                return Err(validation(format!(
                    "Duplicate IDs found in batch input: [{}]. IDs must be unique",
                    input.id
                )));
            }
        }
        let mut report = UpsertReport::default();
        for input in inputs {
            match self.upsert_one(t, &input, now) {
                Ok((object, new)) => report.results.push(UpsertResult {
                    object,
                    new,
                    object_write_trace_id: input.object_write_trace_id.clone(),
                }),
                Err(error) => report
                    .errors
                    .push(error.with_context("id", vec![input.id.clone()])),
            }
        }
        Ok(report)
    }

    fn check_input(&self, t: ObjectType, input: &UpsertInput) -> Result<Option<u64>, ErrorBody> {
        let state = self.state(t);
        if input.id.is_empty() {
            return Err(validation("id must not be empty"));
        }
        if let Some(name) = input
            .properties
            .keys()
            .find(|name| !state.properties.contains_key(*name))
        {
            return Err(validation("Property values were not valid").with_detail(
                format!("Property \"{name}\" does not exist"),
                "PROPERTY_DOESNT_EXIST",
                name,
            ));
        }
        if let Some(value) = input.properties.get(&input.id_property)
            && *value != input.id
        {
            return Err(validation("Property values were not valid").with_detail(
                format!("{} differs from the id", input.id_property),
                "INVALID_ID_PROPERTY",
                &input.id_property,
            ));
        }
        if t == ObjectType::Contacts {
            let email = if input.id_property == "email" {
                Some(&input.id)
            } else {
                input.properties.get("email")
            };
            if let Some(email) = email
                && !is_valid_email(email)
            {
                return Err(validation("Property values were not valid").with_detail(
                    format!("Email address {email} is invalid"),
                    "INVALID_EMAIL",
                    "email",
                ));
            }
        }
        let existing = state
            .unique
            .get(&(input.id_property.clone(), input.id.clone()))
            .copied();
        for (name, value) in &input.properties {
            let unique = state
                .properties
                .get(name)
                .is_some_and(|p| p.has_unique_value);
            if !unique || name == &input.id_property {
                continue;
            }
            if let Some(owner) = state.unique.get(&(name.clone(), value.clone()))
                && Some(*owner) != existing
            {
                return Err(ErrorBody::new(
                    Category::Conflict,
                    format!("{name} {value} already belongs to object {owner}"),
                ));
            }
        }
        Ok(existing)
    }

    fn upsert_one(
        &mut self,
        t: ObjectType,
        input: &UpsertInput,
        now: &str,
    ) -> Result<(CrmObject, bool), ErrorBody> {
        let existing = self.check_input(t, input)?;
        let new = existing.is_none();
        let id = existing.unwrap_or_else(|| {
            self.next_id += 1;
            self.next_id
        });
        let state = self.state_mut(t);
        let object = state.objects.entry(id).or_insert_with(|| CrmObject {
            id: id.to_string(),
            properties: BTreeMap::new(),
            created_at: now.into(),
            updated_at: now.into(),
            archived: false,
        });
        object.properties.extend(input.properties.clone());
        object
            .properties
            .insert(input.id_property.clone(), input.id.clone());
        object
            .properties
            .insert("hs_object_id".into(), id.to_string());
        object.updated_at = now.into();
        let object = object.clone();
        for (name, value) in &object.properties {
            if state
                .properties
                .get(name)
                .is_some_and(|p| p.has_unique_value)
            {
                state.unique.insert((name.clone(), value.clone()), id);
            }
        }
        self.seq += 1;
        self.writes.push(WriteRecord {
            seq: self.seq,
            object_type: t,
            id: object.id.clone(),
            id_property: input.id_property.clone(),
            key: input.id.clone(),
            new,
            properties: input.properties.clone(),
            at_ms: crate::queue::unix_ms(),
        });
        Ok((object, new))
    }
}
