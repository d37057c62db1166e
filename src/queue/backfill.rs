//! The backfill's progress hash (`QueueKeys::backfill`), the contract between the poller
//! that writes it and the operator's status that reads it. Per object type it holds
//! `<object>:count` (objects enqueued so far), `<object>:done` (`1` once the type is
//! finished) and `<object>:finishedAt` (RFC 3339). This is the one place those field
//! names are spelled; both sides go through `ObjectProgress`.

use std::collections::BTreeMap;

use jiff::Timestamp;

const COUNT: &str = "count";
const DONE: &str = "done";
const FINISHED_AT: &str = "finishedAt";

/// One object type's backfill as the poller records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectProgress {
    /// Objects enqueued so far (the poller resumes counting from here).
    pub count: u64,
    pub done: bool,
    pub finished_at: Option<Timestamp>,
}

impl ObjectProgress {
    /// A backfill still paging through the store.
    pub fn running(count: u64) -> Self {
        Self {
            count,
            done: false,
            finished_at: None,
        }
    }

    /// A backfill that listed its last page at `at`.
    pub fn finished(count: u64, at: Timestamp) -> Self {
        Self {
            count,
            done: true,
            finished_at: Some(at),
        }
    }

    /// The hash fields to write for `object` (a running one writes only its count).
    pub fn fields(&self, object: &str) -> Vec<(String, String)> {
        let mut fields = vec![(format!("{object}:{COUNT}"), self.count.to_string())];
        if self.done {
            fields.push((format!("{object}:{DONE}"), "1".into()));
        }
        if let Some(at) = self.finished_at {
            fields.push((format!("{object}:{FINISHED_AT}"), at.to_string()));
        }
        fields
    }
}

/// The whole hash, decoded: every object type the poller has recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    objects: BTreeMap<String, ObjectProgress>,
}

impl BackfillProgress {
    /// Decodes an `HGETALL` of the hash. A field this version does not know, or a value
    /// that does not parse, is left out rather than failing the whole read: the progress
    /// is a report, and a half-written one is still worth showing.
    pub fn decode<'a>(fields: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut objects: BTreeMap<String, ObjectProgress> = BTreeMap::new();
        for (field, value) in fields {
            let Some((object, what)) = field.rsplit_once(':') else {
                continue;
            };
            let entry = objects.entry(object.to_string()).or_default();
            match what {
                COUNT => entry.count = value.parse().unwrap_or(entry.count),
                DONE => entry.done = value == "1",
                FINISHED_AT => entry.finished_at = value.parse().ok(),
                _ => {}
            }
        }
        Self { objects }
    }

    /// The progress of `object` (nothing recorded yet reads as a fresh start).
    pub fn object(&self, object: &str) -> ObjectProgress {
        self.objects.get(object).cloned().unwrap_or_default()
    }

    /// Records `progress` for `object`, as a write of its `fields` would.
    pub fn set(&mut self, object: &str, progress: ObjectProgress) {
        self.objects.insert(object.to_string(), progress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(fields: Vec<(String, String)>) -> BTreeMap<String, String> {
        fields.into_iter().collect()
    }

    #[test]
    fn what_the_poller_writes_is_what_the_operator_reads() {
        let at: Timestamp = "2026-11-23T10:05:00Z".parse().unwrap();
        let cases = [
            ObjectProgress::default(),
            ObjectProgress::running(1200),
            ObjectProgress::finished(5070, at),
        ];
        for progress in cases {
            let written = hash(progress.fields("orders"));
            let read = BackfillProgress::decode(&written);
            assert_eq!(read.object("orders"), progress, "{written:?}");
            assert_eq!(read.object("customers"), ObjectProgress::default());
        }
    }

    #[test]
    fn a_running_write_over_a_finished_one_keeps_the_milestone_fields() {
        // HSET merges: the running count never clears `done` (the poller does not
        // page a finished type again, but the hash must stay readable if it did).
        let at: Timestamp = "2026-11-23T10:05:00Z".parse().unwrap();
        let mut stored = hash(ObjectProgress::finished(10, at).fields("orders"));
        stored.extend(ObjectProgress::running(12).fields("orders"));
        let read = BackfillProgress::decode(&stored).object("orders");
        assert_eq!(
            (read.count, read.done, read.finished_at),
            (12, true, Some(at))
        );
    }

    #[test]
    fn unknown_or_broken_fields_are_left_out() {
        let stored = hash(vec![
            ("orders:count".into(), "many".into()),
            ("orders:finishedAt".into(), "yesterday".into()),
            ("orders:colour".into(), "blue".into()),
            ("nocolon".into(), "1".into()),
            ("carts:done".into(), "1".into()),
        ]);
        let read = BackfillProgress::decode(&stored);
        assert_eq!(read.object("orders"), ObjectProgress::default());
        assert!(read.object("carts").done);
    }
}
