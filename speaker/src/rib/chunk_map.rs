//! An ordered map stored as sorted chunks: the Loc-RIB's container.
//!
//! A full table is most of a route reflector's memory. `BTreeMap` nodes
//! are about three quarters full under random inserts and about half full
//! under the ascending inserts of a table dump, and its inner nodes hold
//! entries too. Here entries sit in chunks of at most [`CHUNK`], found by
//! a binary search over each chunk's first key. A chunk's capacity follows
//! its length in small steps (and a chunk filled by appends at the end is
//! left full), so the table costs its entries and little else.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Entries per chunk at most: small enough that an insert's shift is
/// cheap, large enough that the index of first keys is small.
const CHUNK: usize = 64;

/// Entries a chunk's capacity grows by at least.
const GROWTH: usize = 4;

pub struct ChunkMap<K, V> {
    /// The first key of each chunk, for the search.
    firsts: Vec<K>,
    /// Non-empty, sorted, each after the previous.
    chunks: Vec<Vec<(K, V)>>,
    len: usize,
    /// The chunk of the last lookup, tried first: the decision process
    /// walks destinations in order and an UPDATE's prefixes are mostly
    /// neighbours, so most lookups land in the chunk of the one before
    /// and skip the search of the first keys (a cache miss a step on a
    /// full table). Checked before use, so a stale one is only slower.
    hint: AtomicUsize,
}

impl<K, V> Default for ChunkMap<K, V> {
    fn default() -> Self {
        ChunkMap {
            firsts: Vec::new(),
            chunks: Vec::new(),
            len: 0,
            hint: AtomicUsize::new(0),
        }
    }
}

impl<K: Clone, V: Clone> Clone for ChunkMap<K, V> {
    fn clone(&self) -> Self {
        ChunkMap {
            firsts: self.firsts.clone(),
            chunks: self.chunks.clone(),
            len: self.len,
            hint: AtomicUsize::new(self.hint.load(Ordering::Relaxed)),
        }
    }
}

impl<K: Ord + Copy, V> ChunkMap<K, V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk that holds `key` if any chunk does: the last one whose
    /// first key is not after it.
    fn chunk_of(&self, key: &K) -> Option<usize> {
        let h = self.hint.load(Ordering::Relaxed);
        if let Some(first) = self.firsts.get(h)
            && first <= key
            && self.firsts.get(h + 1).is_none_or(|next| key < next)
        {
            return Some(h);
        }
        let c = self.firsts.partition_point(|f| f <= key).checked_sub(1)?;
        self.hint.store(c, Ordering::Relaxed);
        Some(c)
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        let c = self.chunks.get(self.chunk_of(key)?)?;
        let i = c.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        c.get(i).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let ci = self.chunk_of(key)?;
        let c = self.chunks.get_mut(ci)?;
        let i = c.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        c.get_mut(i).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, inserted with `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if self.chunks.is_empty() {
            let mut c = Vec::with_capacity(GROWTH);
            c.push((key, make()));
            self.chunks.push(c);
            self.firsts.push(key);
            self.len = 1;
            return self.only_value(0, 0);
        }
        let ci = self.chunk_of(&key).unwrap_or(0);
        let (mut ci, mut i) = {
            let c = &mut self.chunks[ci];
            match c.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => return self.only_value(ci, i),
                Err(i) => {
                    if c.len() == c.capacity() {
                        // Not `insert`'s doubling: that would leave chunks
                        // up to half empty.
                        c.reserve_exact((c.len() / 8).max(GROWTH));
                    }
                    c.insert(i, (key, make()));
                    (ci, i)
                }
            }
        };
        self.len += 1;
        if i == 0 {
            self.firsts[ci] = key;
        }
        if self.chunks[ci].len() > CHUNK {
            let last = ci + 1 == self.chunks.len();
            let c = &mut self.chunks[ci];
            // Appending past the end of the table (a dump in order): start
            // a new chunk and leave this one full. Otherwise halve it.
            let at = if last && i + 1 == c.len() {
                c.len() - 1
            } else {
                c.len() / 2
            };
            let mut tail = Vec::with_capacity((c.len() - at).max(GROWTH));
            tail.extend(c.drain(at..));
            c.shrink_to_fit();
            self.firsts.insert(ci + 1, tail[0].0);
            self.chunks.insert(ci + 1, tail);
            if i >= at {
                ci += 1;
                i -= at;
            }
        }
        self.only_value(ci, i)
    }

    pub fn get_or_insert_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.get_or_insert_with(key, V::default)
    }

    /// The value at a position known to exist.
    fn only_value(&mut self, ci: usize, i: usize) -> &mut V {
        &mut self.chunks[ci][i].1
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let ci = self.chunk_of(key)?;
        let c = self.chunks.get_mut(ci)?;
        let i = c.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        let (_, v) = c.remove(i);
        self.len -= 1;
        if c.is_empty() {
            self.chunks.remove(ci);
            self.firsts.remove(ci);
            return Some(v);
        }
        if i == 0 {
            self.firsts[ci] = c[0].0;
        }
        if c.capacity() > 2 * c.len() + GROWTH {
            c.shrink_to_fit();
        }
        // Keep chunks from thinning out: merge a small one into its
        // neighbour when both fit in one.
        let here = c.len();
        if here < CHUNK / 4
            && let Some(next) = self.chunks.get(ci + 1)
            && here + next.len() <= CHUNK
        {
            let next = self.chunks.remove(ci + 1);
            self.firsts.remove(ci + 1);
            self.chunks[ci].extend(next);
        }
        Some(v)
    }

    /// Keeps the entries `keep` says to, in one pass.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for c in &mut self.chunks {
            c.retain_mut(|(k, v)| keep(k, v));
            if c.capacity() > 2 * c.len() + GROWTH {
                c.shrink_to_fit();
            }
        }
        self.chunks.retain(|c| !c.is_empty());
        self.firsts = self.chunks.iter().map(|c| c[0].0).collect();
        self.len = self.chunks.iter().map(Vec::len).sum();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }

    /// The entries after `key` (all of them for `None`), in order,
    /// found by a search rather than a walk from the start: a paged
    /// reader resumes where its last page ended.
    pub fn iter_after(&self, key: Option<&K>) -> impl Iterator<Item = (&K, &V)> + '_ {
        let key = key.copied();
        self.iter_from_by(move |e| key.is_some_and(|k| *e <= k))
    }

    /// The entries from the first for which `before` is false, in order;
    /// `before` must hold for a prefix of the keys (a lower bound).
    pub fn iter_from_by(&self, before: impl Fn(&K) -> bool) -> impl Iterator<Item = (&K, &V)> + '_ {
        let (chunk, at) = match self.firsts.partition_point(|f| before(f)).checked_sub(1) {
            // Not before the first chunk's first key: everything.
            None => (0, 0),
            Some(c) => (c, self.chunks[c].partition_point(|(e, _)| before(e))),
        };
        let first = self.chunks.get(chunk).map_or(&[][..], |c| &c[at..]);
        first
            .iter()
            .chain(self.chunks.iter().skip(chunk + 1).flatten())
            .map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> + '_ {
        self.chunks.iter_mut().flatten().map(|(k, v)| (&*k, v))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.chunks.iter_mut().flatten().map(|(_, v)| v)
    }
}

/// Equal when the entries are: how they are chunked does not matter.
impl<K: Ord + Copy, V: PartialEq> PartialEq for ChunkMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Ord + Copy, V: Eq> Eq for ChunkMap<K, V> {}

impl<K: Ord + Copy + fmt::Debug, V: fmt::Debug> fmt::Debug for ChunkMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Get(u16),
        /// Keep the keys not divisible by this.
        Retain(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // A small key space, so removals and replacements hit.
        let key = 0..600u16;
        prop_oneof![
            4 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => key.clone().prop_map(Op::Remove),
            1 => key.prop_map(Op::Get),
            1 => (2..40u16).prop_map(Op::Retain),
        ]
    }

    fn check_invariants(m: &ChunkMap<u16, u32>) {
        assert_eq!(m.firsts.len(), m.chunks.len());
        let mut n = 0;
        for (f, c) in m.firsts.iter().zip(&m.chunks) {
            assert!(!c.is_empty() && c.len() <= CHUNK);
            assert_eq!(*f, c[0].0);
            n += c.len();
        }
        assert_eq!(n, m.len());
        let keys: Vec<u16> = m.keys().copied().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    proptest! {
        #[test]
        fn behaves_as_a_btree_map(ops in prop::collection::vec(op(), 1..2000)) {
            let mut m = ChunkMap::default();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        *m.get_or_insert_with(k, || 0) = v;
                        model.insert(k, v);
                    }
                    Op::Remove(k) => prop_assert_eq!(m.remove(&k), model.remove(&k)),
                    Op::Get(k) => prop_assert_eq!(m.get(&k), model.get(&k)),
                    Op::Retain(d) => {
                        m.retain(|k, _| k % d != 0);
                        model.retain(|k, _| k % d != 0);
                        check_invariants(&m);
                    }
                }
            }
            check_invariants(&m);
            prop_assert!(m.iter().map(|(k, v)| (*k, *v)).eq(model.clone().into_iter()));
            // A page resumes right after its last key, present or not.
            for after in [None, Some(0u16), Some(1), Some(299), Some(300), Some(599), Some(600)] {
                let got: Vec<u16> = m.iter_after(after.as_ref()).map(|(k, _)| *k).collect();
                let want: Vec<u16> = model
                    .keys()
                    .copied()
                    .filter(|k| after.is_none_or(|a| *k > a))
                    .collect();
                prop_assert_eq!(got, want, "after {:?}", after);
            }
        }
    }

    #[test]
    fn ascending_inserts_fill_chunks() {
        let mut m = ChunkMap::default();
        for k in 0..(CHUNK as u16 * 10) {
            *m.get_or_insert_default(k) = u32::from(k);
        }
        check_invariants(&m);
        assert_eq!(m.chunks.len(), 10);
        assert!(m.chunks.iter().all(|c| c.len() == CHUNK));
        // Equal content, other chunking: equal maps.
        let mut other = ChunkMap::default();
        for k in (0..(CHUNK as u16 * 10)).rev() {
            *other.get_or_insert_default(k) = u32::from(k);
        }
        assert_eq!(m, other);
    }
}
