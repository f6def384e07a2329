//! The commands: how each one changes peers, Adj-RIBs-In and groups, and
//! which destinations it touches. [`super::settle`] then reruns the
//! decision and the exports of the touched destinations.

use super::adj_rib_in::AdjRibIn;
use super::import::{self, Local};
use super::loc_rib::LocRib;
use super::loc_rib::RouteKey;
use super::output::BestPath;
use super::output::RibOutput;
use super::peer::{PeerId, PeerInfo, PeerStats};
use super::update_group::{GroupKey, UpdateGroup};
use super::{GroupId, NextHopResolver, PeerState, Rib};
use crate::wire::{Family, NlriEntry, PathAttributes};
use std::collections::{BTreeMap, BTreeSet, btree_map};
use std::sync::Arc;

/// Destinations whose candidates changed, in order, with their best path
/// before the change (to tell whether the best changed).
pub(super) type Touched = BTreeMap<RouteKey, Option<BestPath>>;

/// Records `key` as touched; call before changing its candidates, while
/// the entry's decision still indexes them.
fn touch(touched: &mut Touched, loc: &LocRib, key: RouteKey) {
    touched
        .entry(key)
        .or_insert_with(|| loc.get(&key).and_then(|e| e.best()).map(BestPath::of));
}

impl<R: NextHopResolver> Rib<R> {
    pub(super) fn peer_up(&mut self, info: PeerInfo, out: &mut RibOutput) -> Touched {
        let id = info.id;
        let mut touched = Touched::new();
        if self.state.peers.get(&id).is_some_and(|p| p.up) {
            // A new session while we thought the old one up: the old one is
            // gone, and its paths with it.
            touched = self.peer_down(id, false, out);
        }
        match self.state.peers.get_mut(&id) {
            // Restarting gracefully: the stale paths stay (RFC 4724 §4.2).
            Some(p) => {
                p.info = info;
                p.up = true;
            }
            None => {
                self.state.peers.insert(
                    id,
                    PeerState {
                        info,
                        up: true,
                        group: None,
                        adj_in: AdjRibIn::default(),
                        stats: PeerStats::default(),
                    },
                );
            }
        }
        self.refresh_cluster_ids();
        // Changes the peer-down above caused must reach the existing groups
        // before the peer joins one, whose table is then taken as it is.
        self.settle(std::mem::take(&mut touched), out);
        let group = self.join_group(id);
        out.joined.push((id, group));
        touched
    }

    fn join_group(&mut self, peer: PeerId) -> GroupId {
        let Some(p) = self.state.peers.get(&peer) else {
            return GroupId(u32::MAX);
        };
        let key = GroupKey::of(&p.info, self.config.local_as, self.config.cluster_id);
        let id = match self.state.group_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = GroupId(self.state.next_group);
                self.state.next_group += 1;
                self.state.group_ids.insert(key.clone(), id);
                let mut group = UpdateGroup {
                    key,
                    members: BTreeSet::new(),
                    out: Default::default(),
                };
                self.fill_group(id, &mut group);
                self.state.groups.insert(id, group);
                id
            }
        };
        if let Some(g) = self.state.groups.get_mut(&id) {
            g.members.insert(peer);
        }
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.group = Some(id);
        }
        id
    }

    fn leave_group(&mut self, peer: PeerId, out: &mut RibOutput) {
        let Some(id) = self.state.peers.get_mut(&peer).and_then(|p| p.group.take()) else {
            return;
        };
        out.left.push((peer, id));
        if let btree_map::Entry::Occupied(mut g) = self.state.groups.entry(id) {
            g.get_mut().members.remove(&peer);
            if g.get().members.is_empty() {
                let g = g.remove();
                self.state.group_ids.remove(&g.key);
                self.cache.forget(id);
            }
        }
    }

    pub(super) fn peer_down(
        &mut self,
        peer: PeerId,
        graceful: bool,
        out: &mut RibOutput,
    ) -> Touched {
        let mut touched = Touched::new();
        self.leave_group(peer, out);
        let Some(p) = self.state.peers.get_mut(&peer) else {
            return touched;
        };
        if graceful {
            p.up = false;
            for (key, path_id) in p.adj_in.iter() {
                if let Some(c) = self
                    .state
                    .loc
                    .get_mut(&key)
                    .and_then(|e| e.get_mut(peer, path_id))
                {
                    c.stale = true;
                }
            }
            // Nothing to decide again: stale paths are used as before.
            return touched;
        }
        for (key, path_id) in p.adj_in.take() {
            touch(&mut touched, &self.state.loc, key);
            if let Some(e) = self.state.loc.get_mut(&key) {
                e.remove(peer, path_id);
            }
        }
        self.state.peers.remove(&peer);
        self.refresh_cluster_ids();
        touched
    }

    /// Removes a peer's stale paths, of one family or all.
    pub(super) fn sweep_stale(&mut self, peer: PeerId, family: Option<Family>) -> Touched {
        let mut touched = Touched::new();
        let Some(p) = self.state.peers.get_mut(&peer) else {
            return touched;
        };
        let loc = &mut self.state.loc;
        let stale: Vec<(RouteKey, Option<u32>)> = p
            .adj_in
            .iter()
            .filter(|(k, _)| family.is_none_or(|f| k.family == f))
            .filter(|(k, id)| {
                loc.get(k)
                    .and_then(|e| e.get(peer, *id))
                    .is_some_and(|c| c.stale)
            })
            .collect();
        for (key, path_id) in stale {
            touch(&mut touched, loc, key);
            p.adj_in.remove(key, path_id);
            if let Some(e) = loc.get_mut(&key) {
                e.remove(peer, path_id);
            }
        }
        touched
    }

    pub(super) fn routes(
        &mut self,
        peer: PeerId,
        withdrawn: Vec<(Family, NlriEntry)>,
        announced: Vec<(Family, NlriEntry, Arc<PathAttributes>)>,
        out: &mut RibOutput,
    ) -> Touched {
        let mut touched = Touched::new();
        let state = &mut self.state;
        // Paths from a session not up are a caller bug; ignoring them keeps
        // the state consistent.
        let Some(p) = state.peers.get_mut(&peer).filter(|p| p.up) else {
            return touched;
        };
        let loc = &mut state.loc;
        for (family, e) in withdrawn {
            let key = RouteKey::of(family, &e);
            if p.adj_in.remove(key, e.path_id) {
                touch(&mut touched, loc, key);
                if let Some(en) = loc.get_mut(&key) {
                    en.remove(peer, e.path_id);
                }
            }
        }
        let local = Local {
            asn: self.config.local_as,
            router_id: self.config.router_id,
            cluster_ids: &state.cluster_ids,
        };
        // One import check per attribute set, not per prefix.
        let mut last: Option<(*const PathAttributes, Result<(), import::ImportDrop>)> = None;
        for (family, e, attrs) in announced {
            let key = RouteKey::of(family, &e);
            let verdict = match last {
                Some((ptr, v)) if std::ptr::eq(ptr, Arc::as_ptr(&attrs)) => v,
                _ => {
                    let v = import::check(&attrs, &p.info, &local);
                    last = Some((Arc::as_ptr(&attrs), v));
                    v
                }
            };
            if let Err(drop) = verdict {
                drop.count(&mut p.stats);
                out.dropped += 1;
                if p.adj_in.remove(key, e.path_id) {
                    touch(&mut touched, loc, key);
                    if let Some(en) = loc.get_mut(&key) {
                        en.remove(peer, e.path_id);
                    }
                }
                continue;
            }
            touch(&mut touched, loc, key);
            loc.entry(key)
                .or_default()
                .upsert(peer, e.path_id, e.labels, attrs);
            p.adj_in.insert(key, e.path_id);
        }
        touched
    }

    pub(super) fn refresh_cluster_ids(&mut self) {
        let mut ids: Vec<_> = std::iter::once(self.config.cluster_id)
            .chain(self.state.peers.values().filter_map(|p| p.info.cluster_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.state.cluster_ids = ids;
    }
}
