//! Line items that point at their products (`hs_product_id`) when the pipeline syncs
//! products: the product's HubSpot id comes from this batch's own upserts, a small cache
//! (product ids never change), or one `batch/read` by `syncline_product_key` per 100
//! products. A product HubSpot does not have yet leaves the line item unlinked until the
//! order's next version, and is not looked up again for [`MISSING_TTL`], so a store whose
//! products are not synced yet costs one lookup per product every few minutes, not one per
//! batch; a failed lookup never fails the order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::write::{CrmWriter, EventOutcome, EventWrites};
use crate::connectors::crm::hubspot::MAX_BATCH;
use crate::connectors::crm::hubspot::mapping::HubspotObject;
use crate::queue::QueueError;

/// Cached products beyond this are forgotten at once (the cache only saves lookups).
const CACHE_LIMIT: usize = 50_000;
/// How long a product HubSpot did not have is not looked up again.
pub const MISSING_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct Cache {
    ids: HashMap<String, String>,
    missing: HashMap<String, Instant>,
}

/// Product unique key → HubSpot id (and recent misses), shared by clones of a writer.
#[derive(Debug, Default, Clone)]
pub struct ProductIds(Arc<Mutex<Cache>>);

/// What the cache knows of one product.
enum Known {
    Id(String),
    RecentlyMissing,
    Unknown,
}

impl ProductIds {
    fn get(&self, key: &str) -> Known {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = cache.ids.get(key) {
            return Known::Id(id.clone());
        }
        match cache.missing.get(key) {
            Some(at) if at.elapsed() < MISSING_TTL => Known::RecentlyMissing,
            _ => Known::Unknown,
        }
    }

    fn put(&self, key: String, id: String) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.ids.len() >= CACHE_LIMIT {
            cache.ids.clear();
        }
        cache.missing.remove(&key);
        cache.ids.insert(key, id);
    }

    fn missed(&self, key: String) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.missing.len() >= CACHE_LIMIT {
            cache.missing.clear();
        }
        cache.missing.insert(key, Instant::now());
    }
}

impl CrmWriter {
    /// The product id each pending line item of still-healthy events should point at, by
    /// line item key. `ids` holds what this batch upserted (products come first).
    pub(super) async fn product_links(
        &self,
        events: &[EventWrites<'_>],
        out: &[EventOutcome],
        ids: &BTreeMap<(HubspotObject, String), String>,
    ) -> Result<BTreeMap<String, String>, QueueError> {
        let refs: Vec<(&str, &str)> = events
            .iter()
            .zip(out)
            .filter(|(_, o)| o.failure.is_none())
            .flat_map(|(e, _)| {
                // Line items that landed before are not sent again: no link to look up.
                e.writes.product_refs.iter().filter(|r| {
                    e.landed
                        .get(HubspotObject::LineItems, &r.line_item)
                        .is_none()
                })
            })
            .map(|r| (r.line_item.as_str(), r.product.as_str()))
            .collect();
        if refs.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        let mut unknown: BTreeSet<String> = BTreeSet::new();
        for (_, product) in &refs {
            if let Some(id) = ids.get(&(HubspotObject::Products, (*product).to_owned())) {
                known.insert((*product).to_owned(), id.clone());
                continue;
            }
            match self.products.get(product) {
                Known::Id(id) => {
                    known.insert((*product).to_owned(), id);
                }
                Known::RecentlyMissing => {}
                Known::Unknown => {
                    unknown.insert((*product).to_owned());
                }
            }
        }
        let unknown: Vec<String> = unknown.into_iter().collect();
        for chunk in unknown.chunks(MAX_BATCH) {
            self.admit().await?;
            let started = std::time::Instant::now();
            let result = self.client.ids_by_key(HubspotObject::Products, chunk).await;
            self.load.crm_call(started.elapsed());
            self.follow_stated_limits().await?;
            match result {
                Ok(found) => {
                    for key in chunk.iter().filter(|k| !found.contains_key(*k)) {
                        self.products.missed(key.clone());
                    }
                    known.extend(found);
                }
                Err(e) => {
                    self.on_error(&e).await?;
                    tracing::debug!(error = %e, "product lookup failed; line items stay unlinked");
                }
            }
        }
        for (key, id) in &known {
            self.products.put(key.clone(), id.clone());
        }
        Ok(refs
            .into_iter()
            .filter_map(|(item, product)| Some((item.to_owned(), known.get(product)?.clone())))
            .collect())
    }
}
