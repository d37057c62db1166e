//! Turns a batch of stream entries into work, pure: decode each envelope, map its body to
//! a canonical record, coalesce versions of one object (newest `updated_at` wins), and map
//! each winner to its HubSpot writes. Everything that needs no CRM call is decided here:
//! skips, dead letters, and checkouts that are not abandoned yet.

use std::collections::HashMap;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::connectors::crm::hubspot::mapping::{self, CrmWrites, Mapped, MappingConfig};
use crate::connectors::store::map_record;
use crate::model::{ObjectKind, Record, StoreRef};
use crate::queue::{Claim, Entry, EventEnvelope, LANDED_FIELD};

use super::landed::Landed;

/// One object to write: the newest version in the batch and what it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Index of the winning entry in the batch.
    pub entry: usize,
    pub kind: ObjectKind,
    pub claim: Claim,
    pub writes: CrmWrites,
    /// What a previous try of this entry already wrote (empty for a first try).
    pub landed: Landed,
}

/// An entry that failed for good before any CRM call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dead {
    pub entry: usize,
    /// Stable word for metrics and `syncline dlq list --reason`.
    pub reason: &'static str,
    pub error: String,
}

/// Why an entry is done without a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Done {
    /// A newer version of the same object is in the batch.
    Coalesced,
    /// Nothing of it is written, with a stable word why: `deletion_not_synced`,
    /// `object_not_synced`, `checkout_completed`, ….
    Skipped(&'static str),
}

impl Done {
    /// The entry's outcome in the worker's event metrics.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::Coalesced => "coalesced",
            Self::Skipped(_) => "skipped",
        }
    }
}

/// What a batch comes to.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub items: Vec<Item>,
    /// Entries done without a write, with why.
    pub done: Vec<(usize, Done)>,
    pub dead: Vec<Dead>,
    /// Entries to look at again at a time (Unix ms): checkouts not yet abandoned.
    pub later: Vec<(usize, i64)>,
}

/// What a plan needs to know about the pipeline.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub store: StoreRef,
    pub objects: Vec<ObjectKind>,
    pub mapping: MappingConfig,
}

/// A decoded entry whose record is known.
struct Candidate {
    entry: usize,
    record: Record,
    order: (i64, u64),
}

/// Plans `entries` at time `now`.
pub fn plan(entries: &[Entry], ctx: &PlanContext, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let mut newest: HashMap<String, Candidate> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let record = match decode(entry, ctx) {
            Decoded::Record(record) => *record,
            Decoded::Skip(why) => {
                out.done.push((index, Done::Skipped(why)));
                continue;
            }
            Decoded::Dead(reason, error) => {
                out.dead.push(Dead {
                    entry: index,
                    reason,
                    error,
                });
                continue;
            }
        };
        let candidate = Candidate {
            entry: index,
            order: (
                record.updated_at().as_millisecond(),
                stream_order(&entry.id),
            ),
            record,
        };
        match newest.entry(candidate.record.object_key()) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(candidate);
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let loser = if candidate.order > slot.get().order {
                    slot.insert(candidate)
                } else {
                    candidate
                };
                out.done.push((loser.entry, Done::Coalesced));
            }
        }
    }
    let mut winners: Vec<Candidate> = newest.into_values().collect();
    winners.sort_by_key(|c| c.entry);
    for c in winners {
        match mapping::map(&ctx.store, &c.record, &ctx.mapping, now) {
            Ok(Mapped::Writes(writes)) => out.items.push(Item {
                entry: c.entry,
                kind: c.record.kind(),
                claim: Claim {
                    object_key: c.record.object_key(),
                    version: c.record.updated_at().as_millisecond(),
                    digest: digest(&writes),
                },
                writes,
                landed: entries[c.entry]
                    .text(LANDED_FIELD)
                    .map(|t| Landed::decode(&t))
                    .unwrap_or_default(),
            }),
            Ok(Mapped::NotDueUntil(due)) => out.later.push((c.entry, due.as_millisecond())),
            Ok(Mapped::Skip(why)) => out.done.push((c.entry, Done::Skipped(why))),
            Err(e) => out.dead.push(Dead {
                entry: c.entry,
                reason: "unmappable",
                error: e.to_string(),
            }),
        }
    }
    out
}

enum Decoded {
    Record(Box<Record>),
    Skip(&'static str),
    Dead(&'static str, String),
}

fn decode(entry: &Entry, ctx: &PlanContext) -> Decoded {
    let envelope = match EventEnvelope::from_fields(&entry.fields) {
        Ok(e) => e,
        Err(e) => return Decoded::Dead("envelope_invalid", e.to_string()),
    };
    let platform = envelope.platform;
    if platform != ctx.store.platform {
        return Decoded::Dead(
            "envelope_invalid",
            format!(
                "event from {platform:?}, pipeline syncs {:?}",
                ctx.store.platform
            ),
        );
    }
    // Deletions are not mirrored into the CRM: HubSpot keeps the history of a record the
    // store deleted, and an upsert from a tombstone body would blank it.
    let topic = envelope.topic.to_ascii_lowercase();
    if topic.contains("delete") {
        return Decoded::Skip("deletion_not_synced");
    }
    // The receiver and the poller name the kind of everything they enqueue; an entry
    // without one was acknowledged by something else and must not vanish silently.
    let Some(kind) = envelope.object_kind else {
        return Decoded::Dead(
            "payload_unmapped",
            format!(
                "the event names no object kind (topic {:?})",
                envelope.topic
            ),
        );
    };
    if !ctx.objects.contains(&kind) {
        return Decoded::Skip("object_not_synced");
    }
    let body: serde_json::Value = match serde_json::from_str(&envelope.body) {
        Ok(body) => body,
        Err(e) => return Decoded::Dead("body_invalid", e.to_string()),
    };
    match map_record(platform, kind, &body) {
        Ok(record) => Decoded::Record(Box::new(record)),
        Err(e) => Decoded::Dead("payload_unmapped", e.to_string()),
    }
}

/// A stream id `ms-seq` as a sortable pair (unparseable ids sort first).
fn stream_order(id: &str) -> u64 {
    let mut parts = id.splitn(2, '-');
    let ms: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let seq: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    ms.saturating_mul(1 << 20).saturating_add(seq)
}

/// A short digest of what a version writes; the watermark keeps it so the same content is
/// written once however often it is delivered or polled.
pub fn digest(writes: &CrmWrites) -> String {
    let hash = Sha256::digest(format!("{writes:?}").as_bytes());
    hex::encode(&hash[..12])
}

#[cfg(test)]
mod tests;
