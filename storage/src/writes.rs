//! Exactly-once writes. A member that loses track of a write (the leader
//! changed while it was in flight) writes it again; the first copy may
//! have been committed already. Each write carries its writer (one per
//! process, random) and its number; the state machine applies a number
//! once per writer and skips copies, on every member alike. The record is
//! replicated state: kept in snapshots.

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

impl Writes {
    /// Records `w`, written at log `index`; false if it was applied before
    /// (the entry is a copy and must be skipped).
    pub fn first_time(&mut self, w: WriteId, index: u64) -> bool {
        let s = self.0.entry(w.writer).or_default();
        s.last_index = index;
        if w.seq < s.below || !s.above.insert(w.seq) {
            return false;
        }
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
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(writer: u64, seq: u64) -> WriteId {
        WriteId { writer, seq }
    }

    #[test]
    fn a_write_applies_once_whatever_the_order() {
        let mut s = Writes::default();
        assert!(s.first_time(w(1, 0), 1));
        assert!(!s.first_time(w(1, 0), 2), "a copy");
        // 2 commits before 1 (the leader changed under 1): both apply once.
        assert!(s.first_time(w(1, 2), 3));
        assert!(s.first_time(w(1, 1), 4));
        assert!(!s.first_time(w(1, 2), 5));
        assert!(!s.first_time(w(1, 1), 6));
        assert_eq!(s.0[&1].below, 3);
        assert!(s.0[&1].above.is_empty());
        // Writers are independent.
        assert!(s.first_time(w(2, 0), 7));
    }

    #[test]
    fn the_least_recent_writers_are_forgotten() {
        let mut s = Writes::default();
        for i in 0..=WRITERS as u64 {
            assert!(s.first_time(w(i, 0), i));
        }
        assert_eq!(s.0.len(), WRITERS);
        assert!(!s.0.contains_key(&0));
        assert!(s.0.contains_key(&(WRITERS as u64)));
    }
}
