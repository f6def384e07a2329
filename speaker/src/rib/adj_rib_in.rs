//! A peer's Adj-RIB-In (RFC 4271 §3.2), after the import checks: the keys
//! of its paths. The path data lives once, in the Loc-RIB candidates; this
//! index lets a session going down, a stale sweep or a route refresh walk
//! one peer's paths without scanning the whole table.

use super::loc_rib::RouteKey;
use std::collections::BTreeSet;

/// Destinations and path identifiers received from one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdjRibIn {
    paths: BTreeSet<(RouteKey, Option<u32>)>,
}

impl AdjRibIn {
    pub fn insert(&mut self, key: RouteKey, path_id: Option<u32>) {
        self.paths.insert((key, path_id));
    }

    pub fn remove(&mut self, key: RouteKey, path_id: Option<u32>) -> bool {
        self.paths.remove(&(key, path_id))
    }

    pub fn contains(&self, key: RouteKey, path_id: Option<u32>) -> bool {
        self.paths.contains(&(key, path_id))
    }

    pub fn iter(&self) -> impl Iterator<Item = (RouteKey, Option<u32>)> + '_ {
        self.paths.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Empties the index, returning what it held, in order.
    pub fn take(&mut self) -> BTreeSet<(RouteKey, Option<u32>)> {
        std::mem::take(&mut self.paths)
    }
}
