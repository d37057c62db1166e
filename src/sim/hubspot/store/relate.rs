//! Search and associations over the simulated CRM's objects.

use super::*;

impl Store {
    /// `search` with EQ filters: groups are ORed, filters in a group ANDed; `after` is an
    /// offset. Returns (total, page, next `after`).
    pub fn search(
        &self,
        t: ObjectType,
        request: &SearchRequest,
    ) -> Result<(usize, Vec<CrmObject>, Option<String>), ErrorBody> {
        let limit = request.limit.unwrap_or(10);
        if limit > MAX_SEARCH_LIMIT {
            return Err(validation(format!(
                "limit must be at most {MAX_SEARCH_LIMIT}"
            )));
        }
        let filters = request.filter_groups.iter().flat_map(|g| &g.filters);
        if let Some(f) = filters.clone().find(|f| f.operator != "EQ") {
            return Err(validation(format!(
                "operator {} is not supported by the simulator",
                f.operator
            )));
        }
        let offset: usize = match &request.after {
            None => 0,
            Some(after) => after
                .parse()
                .map_err(|_| validation("after must be a number"))?,
        };
        let matches = |o: &CrmObject| {
            request.filter_groups.is_empty()
                || request.filter_groups.iter().any(|g| {
                    g.filters
                        .iter()
                        .all(|f| o.properties.get(&f.property_name) == f.value.as_ref())
                })
        };
        let found: Vec<&CrmObject> = self
            .state(t)
            .objects
            .values()
            .filter(|o| matches(o))
            .collect();
        let total = found.len();
        let page = found
            .into_iter()
            .skip(offset)
            .take(limit as usize)
            .map(|o| {
                let mut o = o.clone();
                if !request.properties.is_empty() {
                    o.properties.retain(|k, _| {
                        k == "hs_object_id" || request.properties.iter().any(|p| p == k)
                    });
                }
                o
            })
            .collect::<Vec<_>>();
        let next = (offset + page.len() < total).then(|| (offset + page.len()).to_string());
        Ok((total, page, next))
    }

    /// `batch/read`: the objects whose `id_property` (the object id when absent) has one of
    /// the values asked for; one OBJECT_NOT_FOUND error lists the values nothing has.
    pub fn batch_read(
        &self,
        t: ObjectType,
        request: &BatchReadRequest,
    ) -> Result<(Vec<CrmObject>, Vec<ErrorBody>), ErrorBody> {
        if request.inputs.len() > MAX_BATCH_INPUTS {
            return Err(validation("Too many inputs"));
        }
        if let Some(p) = &request.id_property {
            match self.state(t).properties.get(p) {
                Some(def) if def.has_unique_value => {}
                _ => {
                    return Err(validation(format!(
                        "{p} is not a unique identifier property of {}",
                        t.as_str()
                    )));
                }
            }
        }
        let objects = &self.state(t).objects;
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for input in &request.inputs {
            let hit = match &request.id_property {
                Some(p) => objects
                    .values()
                    .find(|o| o.properties.get(p) == Some(&input.id)),
                None => input.id.parse::<u64>().ok().and_then(|id| objects.get(&id)),
            };
            match hit {
                Some(o) => {
                    let mut o = o.clone();
                    if !request.properties.is_empty() {
                        o.properties.retain(|k, _| {
                            k == "hs_object_id"
                                || request.id_property.as_ref() == Some(k)
                                || request.properties.iter().any(|p| p == k)
                        });
                    }
                    found.push(o);
                }
                None => missing.push(input.id.clone()),
            }
        }
        let errors = if missing.is_empty() {
            Vec::new()
        } else {
            vec![
                ErrorBody::new(
                    Category::ObjectNotFound,
                    format!(
                        "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                        t.as_str().to_ascii_uppercase()
                    ),
                )
                .with_context("ids", missing),
            ]
        };
        Ok((found, errors))
    }

    /// The v4 default batch associate; per-input errors for missing objects.
    pub fn associate(
        &mut self,
        from: ObjectType,
        to: ObjectType,
        inputs: &[AssociationInput],
    ) -> Result<(Vec<Association>, Vec<ErrorBody>), ErrorBody> {
        let (Some(type_id), Some(back_id)) =
            (association_type_id(from, to), association_type_id(to, from))
        else {
            return Err(validation(format!(
                "No default association from {} to {}",
                from.as_str(),
                to.as_str()
            )));
        };
        if inputs.len() > MAX_BATCH_INPUTS {
            return Err(validation("Too many inputs"));
        }
        let exists = |t: ObjectType, id: &str| {
            id.parse::<u64>()
                .is_ok_and(|id| self.state(t).objects.contains_key(&id))
        };
        let mut done = Vec::new();
        let mut errors = Vec::new();
        let mut created = Vec::new();
        for input in inputs {
            let (f, t) = (&input.from.id, &input.to.id);
            if !exists(from, f) || !exists(to, t) {
                errors.push(
                    ErrorBody::new(Category::ObjectNotFound, "One or more objects do not exist")
                        .with_context("fromObjectId", vec![f.clone()])
                        .with_context("toObjectId", vec![t.clone()]),
                );
                continue;
            }
            created.push((f.clone(), t.clone()));
        }
        for (f, t) in created {
            let forward = Association {
                from_type: from,
                from_id: f.clone(),
                to_type: to,
                to_id: t.clone(),
                type_id,
            };
            self.associations.insert(Association {
                from_type: to,
                from_id: t,
                to_type: from,
                to_id: f,
                type_id: back_id,
            });
            self.associations.insert(forward.clone());
            done.push(forward);
        }
        Ok((done, errors))
    }
}
