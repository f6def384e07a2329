//! A border's forwarding table changed: the destinations whose candidates'
//! next hops it covers go through the decision process again (RFC 4271
//! §9.1.2.1: a route whose next hop is unreachable is not selected).

use super::adj_rib_out::next_hop;
use super::{BestPath, LocRibChange, NextHopResolver, Rib, RibOutput, RouteKey};
use crate::wire::Prefix;
use std::collections::BTreeSet;

impl<R: NextHopResolver> Rib<R> {
    pub(super) fn reresolve(&mut self, prefixes: &[Prefix], out: &mut RibOutput) {
        if prefixes.is_empty() {
            return;
        }
        let keys = self
            .state
            .loc
            .iter()
            .filter(|(key, entry)| {
                entry.candidates().iter().any(|c| {
                    next_hop(key.family, &c.attrs)
                        .is_some_and(|nh| prefixes.iter().any(|p| p.contains(nh)))
                })
            })
            .map(|(key, _)| *key)
            .collect::<Vec<_>>();
        // Nothing about the paths changes: only their resolution.
        self.settle_in_chunks(keys.clone(), |_, _| {}, out);
        // The set of equal paths may have changed under the same best:
        // what it was cannot be known (the resolver already answers for
        // the new table), so every destination is a change (a FIB writes
        // only what differs from what it holds).
        if self.config.decision.multipath > 1 {
            let changed: BTreeSet<RouteKey> = out.loc_rib.iter().map(|c| c.key).collect();
            for key in keys {
                if changed.contains(&key) {
                    continue;
                }
                if let Some(best) = self.state.loc.get(&key).and_then(|e| e.best()) {
                    out.loc_rib.push(LocRibChange {
                        key,
                        best: Some(BestPath::of(best)),
                    });
                }
            }
            out.loc_rib.sort_by_key(|c| c.key);
        }
    }
}
