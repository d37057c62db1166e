//! The simulated store's data set, pure: objects per kind with an ordered index on
//! `(updated_at, id)`, so every listing is deterministic (ties on `updated_at` are common in
//! real stores after bulk edits, and are exactly where pagination bugs skip records).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::model::ObjectKind;

/// One simulated object. Its content is derived from `id` and `version`, so a test can tell
/// which version reached the CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub kind: ObjectKind,
    pub id: u64,
    /// Starts at 1; every mutation adds one.
    pub version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The sort key of listings: `(updated_at in ms, id)`.
pub type SortKey = (i64, u64);

impl StoredObject {
    pub fn sort_key(&self) -> SortKey {
        (self.updated_at.as_millisecond(), self.id)
    }
}

/// Where a listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lower {
    /// `updated_at >= t` (Shopify `updated_at_min`, Magento `gteq`).
    AtOrAfter(Timestamp),
    /// `updated_at > t` (WooCommerce `modified_after`, Magento `gt`).
    After(Timestamp),
    /// Strictly after a sort key (keyset continuation of a Shopify `page_info`).
    AfterKey(SortKey),
    All,
}

impl Lower {
    fn admits(self, key: SortKey) -> bool {
        match self {
            Self::AtOrAfter(t) => key.0 >= t.as_millisecond(),
            Self::After(t) => key.0 > t.as_millisecond(),
            Self::AfterKey(k) => key > k,
            Self::All => true,
        }
    }
}

/// All objects of the store.
#[derive(Debug, Default)]
pub struct Dataset {
    objects: BTreeMap<(ObjectKind, u64), StoredObject>,
    index: BTreeMap<ObjectKind, BTreeSet<SortKey>>,
}

impl Dataset {
    pub fn get(&self, kind: ObjectKind, id: u64) -> Option<&StoredObject> {
        self.objects.get(&(kind, id))
    }

    /// Creates the object at version 1, or bumps its version; either way it is now
    /// `updated_at = at`. Returns the new state.
    pub fn upsert(&mut self, kind: ObjectKind, id: u64, at: Timestamp) -> StoredObject {
        let index = self.index.entry(kind).or_default();
        let object = match self.objects.get_mut(&(kind, id)) {
            Some(existing) => {
                index.remove(&existing.sort_key());
                existing.version += 1;
                existing.updated_at = at;
                existing.clone()
            }
            None => {
                let created = StoredObject {
                    kind,
                    id,
                    version: 1,
                    created_at: at,
                    updated_at: at,
                };
                self.objects.insert((kind, id), created.clone());
                created
            }
        };
        index.insert(object.sort_key());
        object
    }

    /// Sets `object` as its kind and id's state when it is newer than what is stored (or
    /// nothing is): a load generator that decides versions itself keeps the store holding
    /// the newest version of each object, whatever order its writes arrive in. Whether it
    /// was applied.
    pub fn put(&mut self, object: StoredObject) -> bool {
        let slot = (object.kind, object.id);
        if self
            .objects
            .get(&slot)
            .is_some_and(|o| o.version >= object.version)
        {
            return false;
        }
        let index = self.index.entry(object.kind).or_default();
        if let Some(old) = self.objects.get(&slot) {
            index.remove(&old.sort_key());
        }
        index.insert(object.sort_key());
        self.objects.insert(slot, object);
        true
    }

    /// Objects of `kind` admitted by `lower` and `upper` (inclusive), in `(updated_at, id)`
    /// order, skipping `offset` and returning at most `limit`, with the total match count.
    pub fn list(
        &self,
        kind: ObjectKind,
        lower: Lower,
        upper: Option<Timestamp>,
        offset: usize,
        limit: usize,
    ) -> (Vec<StoredObject>, usize) {
        let Some(index) = self.index.get(&kind) else {
            return (Vec::new(), 0);
        };
        let upper_ms = upper.map(|t| t.as_millisecond());
        let matching = index
            .iter()
            .filter(|k| lower.admits(**k))
            .take_while(|k| upper_ms.is_none_or(|u| k.0 <= u));
        let mut total = 0;
        let mut page = Vec::new();
        for (position, key) in matching.enumerate() {
            total += 1;
            if position >= offset
                && page.len() < limit
                && let Some(o) = self.objects.get(&(kind, key.1))
            {
                page.push(o.clone());
            }
        }
        (page, total)
    }

    pub fn count(&self, kind: ObjectKind) -> usize {
        self.index.get(&kind).map_or(0, BTreeSet::len)
    }

    /// Every object of `kind` (for `/_sim/objects`).
    pub fn all(&self, kind: ObjectKind) -> Vec<StoredObject> {
        self.list(kind, Lower::All, None, 0, usize::MAX).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn ties_are_ordered_by_id_and_updates_move_to_the_end() {
        let mut d = Dataset::default();
        let at = t("2026-11-20T10:00:00Z");
        for id in [3, 1, 2] {
            d.upsert(ObjectKind::Orders, id, at);
        }
        let ids =
            |d: &Dataset| -> Vec<u64> { d.all(ObjectKind::Orders).iter().map(|o| o.id).collect() };
        assert_eq!(ids(&d), vec![1, 2, 3]);
        let bumped = d.upsert(ObjectKind::Orders, 1, t("2026-11-20T10:00:01Z"));
        assert_eq!(bumped.version, 2);
        assert_eq!(ids(&d), vec![2, 3, 1]);
        assert_eq!(d.count(ObjectKind::Orders), 3);
    }

    #[test]
    fn put_keeps_the_newest_version_whatever_the_order() {
        let mut d = Dataset::default();
        let object = |version: u32, at: &str| StoredObject {
            kind: ObjectKind::Orders,
            id: 9,
            version,
            created_at: t("2026-11-20T10:00:00Z"),
            updated_at: t(at),
        };
        assert!(d.put(object(2, "2026-11-20T10:00:02Z")));
        assert!(!d.put(object(1, "2026-11-20T10:00:01Z")), "older");
        assert!(!d.put(object(2, "2026-11-20T10:00:02Z")), "same");
        assert_eq!(d.get(ObjectKind::Orders, 9).map(|o| o.version), Some(2));
        assert!(d.put(object(3, "2026-11-20T10:00:03Z")));
        let listed = d.list(ObjectKind::Orders, Lower::All, None, 0, 9);
        assert_eq!(listed.1, 1, "one index entry per object");
        assert_eq!(listed.0[0].updated_at, t("2026-11-20T10:00:03Z"));
    }

    #[test]
    fn bounds_offsets_and_keyset_continuations() {
        let mut d = Dataset::default();
        d.upsert(ObjectKind::Orders, 1, t("2026-11-20T10:00:00Z"));
        d.upsert(ObjectKind::Orders, 2, t("2026-11-20T10:00:01Z"));
        d.upsert(ObjectKind::Orders, 3, t("2026-11-20T10:00:01Z"));
        let at = t("2026-11-20T10:00:01Z");
        let ids = |(v, n): (Vec<StoredObject>, usize)| (v.iter().map(|o| o.id).collect(), n);
        let l = |lower, offset, limit| ids(d.list(ObjectKind::Orders, lower, None, offset, limit));
        assert_eq!(l(Lower::AtOrAfter(at), 0, 10), (vec![2, 3], 2));
        assert_eq!(l(Lower::After(at), 0, 10), (vec![], 0));
        assert_eq!(l(Lower::All, 1, 1), (vec![2], 3));
        assert_eq!(
            l(Lower::AfterKey((at.as_millisecond(), 2)), 0, 10),
            (vec![3], 1)
        );
        let upper = ids(d.list(
            ObjectKind::Orders,
            Lower::All,
            Some(t("2026-11-20T10:00:00Z")),
            0,
            9,
        ));
        assert_eq!(upper, (vec![1], 1));
        assert_eq!(l(Lower::All, 0, 0).1, 3);
        assert!(
            d.list(ObjectKind::Carts, Lower::All, None, 0, 9)
                .0
                .is_empty()
        );
    }
}
