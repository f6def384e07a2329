//! After a command: rerun the decision process for every touched
//! destination (RFC 4271 §9.1.2) and compute what every group's
//! Adj-RIB-Out gained and lost there (§9.1.3, RFC 4456 §8), in destination
//! order then group order.

use super::adj_rib_out::{Peers, View, igp_cost};
use super::decision::{self, PathRank};
use super::loc_rib::Entry;
use super::output::{BestPath, GroupChanges, LocRibChange, RibOutput};
use super::process::Touched;
use super::update_group::{self, GroupId, OutChange, OutPaths};
use super::{NextHopResolver, Rib, RibConfig};
use crate::wire::Family;
use std::collections::BTreeMap;
use std::sync::Arc;

impl<R: NextHopResolver> Rib<R> {
    pub(super) fn settle(&mut self, touched: Touched, out: &mut RibOutput) {
        let mut changes: BTreeMap<GroupId, Vec<OutChange>> = BTreeMap::new();
        let exported: Vec<GroupId> = self
            .state
            .groups
            .iter()
            .filter(|(_, g)| self.exports(g))
            .map(|(id, _)| *id)
            .collect();
        let state = &mut self.state;
        let cache = match self.cache.get_mut() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (key, before) in touched.into_sorted() {
            let Some(entry) = state.loc.get_mut(&key) else {
                continue;
            };
            let d = run_decision(
                &self.config,
                &self.resolver,
                &state.peers,
                key.family,
                entry,
            );
            entry.set_decision(d);
            let entry = &*entry;
            let was = before.as_ref().and_then(Entry::best);
            let now = entry.best();
            let changed = match (was, now) {
                (None, None) => false,
                (Some(b), Some(c)) => {
                    b.peer != c.peer
                        || b.path_id() != c.path_id()
                        || b.labels() != c.labels()
                        || !Arc::ptr_eq(&b.attrs, &c.attrs)
                }
                _ => true,
            };
            // ECMP: a path equal to the best came or went.
            let changed = changed
                || (self.config.decision.multipath > 1
                    && now.is_some()
                    && before.as_ref().is_some_and(|b| {
                        let ids = |e: &Entry| -> Vec<_> {
                            multipath(&self.config, &self.resolver, &state.peers, key.family, e)
                                .into_iter()
                                .filter_map(|i| e.candidates().get(i))
                                .map(|c| (c.peer, c.path_id(), Arc::as_ptr(&c.attrs)))
                                .collect()
                        };
                        ids(b) != ids(entry)
                    }));
            if changed {
                out.loc_rib.push(LocRibChange {
                    key,
                    best: now.map(BestPath::of),
                });
            }
            let view = View {
                config: &self.config,
                resolver: &self.resolver,
                peers: &state.peers,
            };
            for gid in &exported {
                let Some(group) = state.groups.get(gid) else {
                    continue;
                };
                if !group.key.has_family(key.family) {
                    continue;
                }
                let old = match &before {
                    Some(b) => view.paths(cache, *gid, group, key, b),
                    None => OutPaths::new(),
                };
                let new = view.paths(cache, *gid, group, key, entry);
                if old.is_empty() && new.is_empty() {
                    continue;
                }
                update_group::diff(
                    &group.key,
                    key,
                    &old,
                    &new,
                    changes.entry(*gid).or_default(),
                );
            }
            if entry.is_empty() {
                // Removed when the command is done ([`Rib::drop_empty`]):
                // one by one, a table's worth of removals would shift the
                // chunk index once per emptied chunk.
                self.emptied.push(key);
            }
        }
        out.groups.extend(
            changes
                .into_iter()
                .filter(|(_, c)| !c.is_empty())
                .map(|(group, changes)| GroupChanges { group, changes }),
        );
    }

    /// Runs the decision process for every destination (after a restore).
    pub(super) fn decide_all(&mut self) {
        let state = &mut self.state;
        for (key, entry) in state.loc.iter_mut() {
            let d = run_decision(
                &self.config,
                &self.resolver,
                &state.peers,
                key.family,
                entry,
            );
            entry.set_decision(d);
        }
    }

    /// Removes the destinations left without candidates.
    pub(super) fn drop_empty(&mut self) {
        let loc = &mut self.state.loc;
        if self.emptied.len() <= 64 {
            for key in self.emptied.drain(..) {
                if loc.get(&key).is_some_and(Entry::is_empty) {
                    loc.remove(&key);
                }
            }
        } else {
            self.emptied.clear();
            loc.retain(|_, e| !e.is_empty());
        }
    }
}

fn run_decision<R: NextHopResolver>(
    config: &RibConfig,
    resolver: &R,
    peers: &Peers,
    family: Family,
    entry: &Entry,
) -> Option<decision::Decision> {
    let rank = |c| rank(config, resolver, peers, family, c);
    let candidates = entry.candidates();
    // One candidate (most destinations): no allocation.
    if let [only] = candidates {
        return decision::decide(&[rank(only)?], &config.decision);
    }
    let ranks: Vec<PathRank<'_>> = candidates.iter().filter_map(rank).collect();
    // Every candidate has its peer (paths go when their peer goes), so the
    // indexes of `ranks` are those of the candidates.
    if ranks.len() != candidates.len() {
        return None;
    }
    decision::decide(&ranks, &config.decision)
}

/// The indexes of the candidates of `entry` forwarded over together, the
/// best first ([`decision::multipath`]); empty without a best path.
pub(super) fn multipath<R: NextHopResolver>(
    config: &RibConfig,
    resolver: &R,
    peers: &Peers,
    family: Family,
    entry: &Entry,
) -> Vec<usize> {
    let Some(best) = entry.decision().map(|d| d.best) else {
        return Vec::new();
    };
    if config.decision.multipath <= 1 || entry.candidates().len() == 1 {
        return vec![best];
    }
    let ranks: Vec<PathRank<'_>> = entry
        .candidates()
        .iter()
        .filter_map(|c| rank(config, resolver, peers, family, c))
        .collect();
    if ranks.len() != entry.candidates().len() {
        return vec![best];
    }
    decision::multipath(&ranks, best, &config.decision)
}

fn rank<'a, R: NextHopResolver>(
    config: &RibConfig,
    resolver: &R,
    peers: &Peers,
    family: Family,
    c: &'a super::Candidate,
) -> Option<PathRank<'a>> {
    let p = peers.get(&c.peer)?;
    Some(PathRank {
        attrs: &c.attrs,
        ebgp: p.info.asn != config.local_as,
        peer_router_id: p.info.router_id,
        peer_address: p.info.address,
        path_id: c.path_id(),
        igp_cost: igp_cost(resolver, family, &c.attrs),
    })
}
