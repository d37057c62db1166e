//! The associations of a batch, created once every upsert of their events is in: one
//! batch call per (from, to) type pair, each pair sent once for all events wanting it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{CrmWriter, EventOutcome, EventWrites, Key, WriteFailure};
use crate::connectors::crm::hubspot::mapping::HubspotObject;
use crate::connectors::crm::hubspot::{FailureClass, MAX_BATCH};
use crate::queue::QueueError;
use crate::worker::lease::Leases;

/// Associations to create: (from type, to type) → (from id, to id) → events needing it.
type Wanted = BTreeMap<(HubspotObject, HubspotObject), BTreeMap<(String, String), Vec<usize>>>;

impl CrmWriter {
    /// Creates the associations of events whose upserts all succeeded (now or before).
    pub(super) async fn associate(
        &self,
        events: &[EventWrites<'_>],
        ids: &BTreeMap<Key, String>,
        out: &mut [EventOutcome],
        leases: &mut Leases<'_>,
    ) -> Result<(), QueueError> {
        let mut wanted: Wanted = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            if out[i].failure.is_some() {
                continue;
            }
            for link in &event.writes.associations {
                match (ids.get(&link.from), ids.get(&link.to)) {
                    (Some(from), Some(to)) => wanted
                        .entry((link.from.0, link.to.0))
                        .or_default()
                        .entry((from.clone(), to.clone()))
                        .or_default()
                        .push(i),
                    _ => {
                        out[i].failure = Some(WriteFailure {
                            class: FailureClass::Transient,
                            message: "an associated object has no HubSpot id".into(),
                        });
                    }
                }
            }
        }
        for ((from, to), pairs) in wanted {
            let pairs: Vec<((String, String), Vec<usize>)> = pairs.into_iter().collect();
            for chunk in pairs.chunks(MAX_BATCH) {
                self.count_retried(events, chunk.iter().map(|(_, o)| o.as_slice()), "associate");
                self.admit_for(leases, chunk.iter().flat_map(|(_, o)| o.iter().copied()))
                    .await?;
                let chunk: Vec<&((String, String), Vec<usize>)> = chunk
                    .iter()
                    .filter(|(_, owners)| owners.iter().any(|&i| !leases.is_lost(i)))
                    .collect();
                if chunk.is_empty() {
                    continue;
                }
                let ask: Vec<(String, String)> = chunk.iter().map(|(p, _)| p.clone()).collect();
                let started = Instant::now();
                let result = self.client.associate(from, to, &ask).await;
                self.observe(from.path(), "associate", started.elapsed(), &result);
                self.follow_stated_limits().await?;
                let refused: BTreeSet<(String, String)> = match result {
                    Ok(refused) => refused.into_iter().collect(),
                    Err(e) => {
                        self.on_error(&e).await?;
                        let failure = WriteFailure::from_error(&e);
                        for (_, owners) in &chunk {
                            for &i in owners {
                                out[i].failure.get_or_insert_with(|| failure.clone());
                            }
                        }
                        continue;
                    }
                };
                for (pair, owners) in &chunk {
                    if refused.contains(pair) {
                        for &i in owners {
                            out[i].failure.get_or_insert_with(|| WriteFailure {
                                class: FailureClass::Transient,
                                message: format!(
                                    "HubSpot refused the {}→{} association",
                                    from.path(),
                                    to.path()
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
