//! Property definitions and property groups of the simulated CRM, with HubSpot's
//! conflict and validation answers.

use super::*;

impl Store {
    /// Creates a property; CONFLICT (409) if the name exists, VALIDATION_ERROR (400) if its
    /// group does not.
    pub fn create_property(
        &mut self,
        t: ObjectType,
        def: PropertyDef,
    ) -> Result<PropertyDef, ErrorBody> {
        let state = self.state_mut(t);
        if def.name.is_empty() || def.name.chars().any(|c| c.is_ascii_uppercase() || c == ' ') {
            return Err(validation(
                "Property name must be lower case without spaces",
            ));
        }
        if state.properties.contains_key(&def.name) {
            return Err(ErrorBody::new(
                Category::Conflict,
                format!("A property named '{}' already exists.", def.name),
            ));
        }
        if !state.groups.contains_key(&def.group_name) {
            return Err(validation(format!(
                "group {} does not exist.",
                def.group_name
            )));
        }
        state.properties.insert(def.name.clone(), def.clone());
        Ok(def)
    }

    pub fn properties(&self, t: ObjectType) -> Vec<PropertyDef> {
        self.state(t).properties.values().cloned().collect()
    }

    pub fn property(&self, t: ObjectType, name: &str) -> Option<PropertyDef> {
        self.state(t).properties.get(name).cloned()
    }

    /// Creates a property group; 409 CONFLICT if it exists.
    pub fn create_group(&mut self, t: ObjectType, def: GroupDef) -> Result<GroupDef, ErrorBody> {
        let state = self.state_mut(t);
        if state.groups.contains_key(&def.name) {
            return Err(ErrorBody::new(
                Category::Conflict,
                format!("A property group named '{}' already exists.", def.name),
            ));
        }
        state.groups.insert(def.name.clone(), def.clone());
        Ok(def)
    }

    pub fn groups(&self, t: ObjectType) -> Vec<GroupDef> {
        self.state(t).groups.values().cloned().collect()
    }
}
