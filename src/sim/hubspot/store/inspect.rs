//! What tests and `/_sim/*` read back: objects, associations, the write log, and a
//! duplicate detector that scans objects independently of the unique indexes.

use super::*;

impl Store {
    pub fn objects(&self, t: ObjectType) -> Vec<CrmObject> {
        self.state(t).objects.values().cloned().collect()
    }

    pub fn associations(&self) -> Vec<Association> {
        self.associations.iter().cloned().collect()
    }

    pub fn writes(&self) -> &[WriteRecord] {
        &self.writes
    }

    /// Scans every object for unique values held by more than one object.
    pub fn duplicates(&self) -> Vec<Duplicate> {
        let mut out = Vec::new();
        for (t, state) in &self.types {
            let mut by_value: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
            for object in state.objects.values() {
                for (name, value) in &object.properties {
                    if state
                        .properties
                        .get(name)
                        .is_some_and(|p| p.has_unique_value)
                    {
                        by_value
                            .entry((name, value))
                            .or_default()
                            .push(object.id.clone());
                    }
                }
            }
            out.extend(by_value.into_iter().filter(|(_, ids)| ids.len() > 1).map(
                |((property, value), ids)| Duplicate {
                    object_type: *t,
                    property: property.into(),
                    value: value.into(),
                    ids,
                },
            ));
        }
        out
    }

    /// Counts of objects per type.
    pub fn counts(&self) -> BTreeMap<ObjectType, usize> {
        self.types
            .iter()
            .map(|(t, s)| (*t, s.objects.len()))
            .collect()
    }
}
