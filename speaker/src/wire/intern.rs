//! Interning of path attribute sets: routes with identical attributes share
//! one `Arc<PathAttributes>`, and a set already seen is not decoded again.
//!
//! Two indexes: by the raw attribute octets (a hit skips decoding, usable
//! when no MP attribute carries NLRI inside the field) and by value (for
//! UPDATEs whose MP_REACH_NLRI makes the octets differ per message). A set
//! is in one index or the other.

use super::attr::PathAttributes;
use bytes::Bytes;
use foldhash::fast::FixedState;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// An interner for one decoding context (raw octets mean the same thing only
/// under the same negotiated AS number size).
#[derive(Default)]
pub struct AttrInterner {
    by_raw: HashMap<Bytes, Arc<PathAttributes>, FixedState>,
    by_value: HashSet<Arc<PathAttributes>, FixedState>,
    /// Above this many entries, unused sets are purged on the next insert.
    limit: usize,
    /// Entries at which the next purge runs: at least `limit`, and twice
    /// what survived the last purge, so a full interner is not rescanned on
    /// every insert.
    next_purge: usize,
    pub hits: u64,
    pub misses: u64,
}

impl AttrInterner {
    pub fn new() -> AttrInterner {
        AttrInterner::with_limit(1 << 20)
    }

    /// An interner that purges unused sets once it holds `limit` of them.
    pub fn with_limit(limit: usize) -> AttrInterner {
        AttrInterner {
            limit,
            next_purge: limit,
            ..AttrInterner::default()
        }
    }

    pub fn get_raw(&mut self, raw: &[u8]) -> Option<Arc<PathAttributes>> {
        let hit = self.by_raw.get(raw).cloned();
        if hit.is_some() {
            self.hits += 1;
        }
        hit
    }

    /// Interns a decoded set, remembering its raw octets when given.
    pub fn intern(&mut self, attrs: PathAttributes, raw: Option<Bytes>) -> Arc<PathAttributes> {
        self.misses += 1;
        if self.len() >= self.next_purge.max(1) {
            self.purge_unused();
            self.next_purge = self.limit.max(2 * self.len());
        }
        if let Some(raw) = raw {
            // A raw-octet miss is a new set in practice: skip hashing the
            // decoded value. Copy the key out of the message buffer so the
            // interner does not pin whole received messages in memory.
            let a = Arc::new(attrs);
            self.by_raw.insert(Bytes::copy_from_slice(&raw), a.clone());
            return a;
        }
        match self.by_value.get(&attrs) {
            Some(a) => a.clone(),
            None => {
                let a = Arc::new(attrs);
                self.by_value.insert(a.clone());
                a
            }
        }
    }

    /// Drops the sets that no route uses any more.
    pub fn purge_unused(&mut self) {
        self.by_raw.retain(|_, a| Arc::strong_count(a) > 1);
        self.by_value.retain(|a| Arc::strong_count(a) > 1);
    }

    /// Attribute sets held (a set reached by two encodings counts twice).
    pub fn len(&self) -> usize {
        self.by_raw.len() + self.by_value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_raw.is_empty() && self.by_value.is_empty()
    }
}
