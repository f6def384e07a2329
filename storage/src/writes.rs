//! Exactly-once, in-order writes. A member that loses track of a write
//! (the leader changed while it was in flight) writes it again; the first
//! copy may have been committed already, and a later write may have
//! committed before it. Each write carries its writer (one per process,
//! random) and its number; the state machine applies a writer's numbers
//! once each and in order (a copy is skipped; a write that overtook an
//! earlier one is skipped and written again), on every member alike. The
//! record is replicated state: kept in snapshots.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Who wrote an entry, and which of its writes it is (numbered from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteId {
    pub writer: u64,
    pub seq: u64,
}

/// Writers remembered at most: one per process that ever wrote, the least
/// recently heard from forgotten first (its retries are long over).
const WRITERS: usize = 1024;

/// What one writer has had applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterState {
    /// Every number below this one is applied.
    pub below: u64,
    /// Numbers applied above `below` (writes may commit out of order when
    /// the leader changes under them).
    pub above: BTreeSet<u64>,
    /// The log index of its last write, to forget the oldest writers.
    pub last_index: u64,
}

/// The writes applied so far, per writer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writes(BTreeMap<u64, WriterState>);

/// What to do with a write ([`Writes::admit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The writer's next write: apply it.
    Apply,
    /// Applied before: skip it.
    Copy,
    /// A write of this writer before it has not been applied yet (the
    /// leader changed under it): skip it, and the writer writes it again
    /// after the one it overtook, so a writer's writes apply in order.
    Early,
}

impl Writes {
    /// Whether `w`, written at log `index`, applies.
    pub fn admit(&mut self, w: WriteId, index: u64) -> Admission {
        let s = self.0.entry(w.writer).or_default();
        s.last_index = index;
        // A record of before writes were ordered may hold numbers above.
        if w.seq < s.below || s.above.contains(&w.seq) {
            return Admission::Copy;
        }
        if w.seq > s.below {
            return Admission::Early;
        }
        s.below += 1;
        while s.above.remove(&s.below) {
            s.below += 1;
        }
        if self.0.len() > WRITERS
            && let Some(oldest) = self
                .0
                .iter()
                .min_by_key(|(_, s)| s.last_index)
                .map(|(k, _)| *k)
        {
            self.0.remove(&oldest);
        }
        Admission::Apply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(writer: u64, seq: u64) -> WriteId {
        WriteId { writer, seq }
    }

    #[test]
    fn a_writer_s_writes_apply_once_and_in_order() {
        use Admission::*;
        let mut s = Writes::default();
        assert_eq!(s.admit(w(1, 0), 1), Apply);
        assert_eq!(s.admit(w(1, 0), 2), Copy, "a copy");
        // 2 commits before 1 (the leader changed under 1): 2 is refused
        // until 1 has applied, then applies when written again.
        assert_eq!(s.admit(w(1, 2), 3), Early);
        assert_eq!(s.admit(w(1, 1), 4), Apply);
        assert_eq!(s.admit(w(1, 2), 5), Apply);
        assert_eq!(s.admit(w(1, 2), 6), Copy);
        assert_eq!(s.admit(w(1, 1), 7), Copy);
        assert_eq!(s.0[&1].below, 3);
        // Writers are independent.
        assert_eq!(s.admit(w(2, 0), 8), Apply);
    }

    #[test]
    fn numbers_recorded_above_by_an_older_release_are_copies() {
        let mut s = Writes::default();
        s.0.insert(
            1,
            WriterState {
                below: 2,
                above: [3].into_iter().collect(),
                last_index: 1,
            },
        );
        assert_eq!(s.admit(w(1, 3), 2), Admission::Copy);
        assert_eq!(s.admit(w(1, 2), 3), Admission::Apply);
        assert_eq!(s.0[&1].below, 4, "3 was applied: 4 is next");
    }

    #[test]
    fn the_least_recent_writers_are_forgotten() {
        let mut s = Writes::default();
        for i in 0..=WRITERS as u64 {
            assert_eq!(s.admit(w(i, 0), i), Admission::Apply);
        }
        assert_eq!(s.0.len(), WRITERS);
        assert!(!s.0.contains_key(&0));
        assert!(s.0.contains_key(&(WRITERS as u64)));
    }
}
