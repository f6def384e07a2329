//! The commands: how each one changes peers, Adj-RIBs-In and groups, and
//! which destinations it touches. [`super::settle`] then reruns the
//! decision and the exports of the touched destinations.

use super::import::{self, Local};
use super::loc_rib::{Entry, LocRib, RouteKey};
use super::output::RibOutput;
use super::peer::{PeerId, PeerInfo, PeerStats};
use super::update_group::{GroupKey, UpdateGroup};
use super::{GroupId, NextHopResolver, PeerState, Rib};
use crate::wire::attr::Community;
use crate::wire::{Family, NlriEntry, PathAttributes};
use std::collections::{BTreeSet, HashMap, btree_map};
use std::sync::Arc;

/// Destinations whose candidates changed, each with its entry as it was
/// before the command (`None`: new), from which the Adj-RIBs-Out before
/// are computed. Keys and entries apart, so that the sort (once, at the
/// end: cheaper than a search tree for the few destinations of an UPDATE
/// and the thousands of a batch) moves small items.
#[derive(Default)]
pub(super) struct Touched {
    /// Each touch: the key and the index of its entry in `before`.
    keys: Vec<(RouteKey, u32)>,
    before: Vec<Option<Entry>>,
}

impl Touched {
    pub(super) fn new() -> Touched {
        Touched::default()
    }

    fn push(&mut self, key: RouteKey, before: Option<Entry>) {
        self.keys.push((key, self.before.len() as u32));
        self.before.push(before);
    }

    /// In key order, each destination once, with its entry as it was when
    /// first touched.
    pub(super) fn into_sorted(self) -> impl Iterator<Item = (RouteKey, Option<Entry>)> {
        let Touched {
            mut keys,
            mut before,
        } = self;
        // Of equal keys, the first touch (lowest index) sorts first and
        // stays.
        keys.sort_unstable();
        keys.dedup_by_key(|(k, _)| *k);
        keys.into_iter().map(move |(k, i)| {
            let e = before.get_mut(i as usize).and_then(Option::take);
            (k, e)
        })
    }
}

/// Destinations settled at a time when a whole peer's paths change: bounds
/// the snapshots held at once.
const CHUNK: usize = 4096;

/// Records `key` as touched; call before changing its candidates (a key
/// touched again keeps its first entry: [`Touched::into_sorted`]).
fn touch(touched: &mut Touched, loc: &LocRib, key: RouteKey) {
    touched.push(key, loc.get(&key).cloned());
}

/// [`touch`], then the entry of `key`, made if absent: one search of the
/// Loc-RIB where an announcement would take two. An entry without
/// candidates is recorded as absent: to the decision and the exports
/// they are the same.
fn touch_entry<'a>(touched: &mut Touched, loc: &'a mut LocRib, key: RouteKey) -> &'a mut Entry {
    let e = loc.get_or_insert_default(key);
    touched.push(key, (!e.is_empty()).then(|| e.clone()));
    e
}

/// Removes `peer`'s path `path_id` to `key`, if it has one.
fn remove_path(
    touched: &mut Touched,
    loc: &mut LocRib,
    p: &mut PeerState,
    peer: PeerId,
    key: RouteKey,
    path_id: Option<u32>,
) {
    if loc
        .get(&key)
        .is_some_and(|e| e.get(peer, path_id).is_some())
    {
        touch(touched, loc, key);
        if let Some(e) = loc.get_mut(&key)
            && e.remove(peer, path_id)
        {
            p.paths = p.paths.saturating_sub(1);
        }
    }
}

/// The facts of a peer that decide how its paths rank and are exported:
/// when they change, its paths are exported anew.
fn same_treatment(a: &PeerInfo, b: &PeerInfo) -> bool {
    a.asn == b.asn
        && a.router_id == b.router_id
        && a.rr_client == b.rr_client
        && a.address == b.address
}

impl<R: NextHopResolver> Rib<R> {
    pub(super) fn peer_up(&mut self, mut info: PeerInfo, out: &mut RibOutput) -> Touched {
        let id = info.id;
        // The replicated policy says which maps a neighbour uses, whatever
        // the configuration of the member that runs its session said.
        if let Some((_, p)) = &self.state.policy {
            let a = p.attachment(id);
            info.import = a.import;
            info.export = a.export;
        }
        if self.state.peers.get(&id).is_some_and(|p| p.up) {
            // A new session while we thought the old one up: the old one is
            // gone, and its paths with it.
            self.peer_down(id, false, out);
        }
        match self.state.peers.get_mut(&id) {
            // Restarting gracefully: the stale paths stay (RFC 4724 §4.2).
            Some(p) => {
                if same_treatment(&p.info, &info) {
                    p.info = info;
                    p.up = true;
                } else {
                    self.retreat(id, info, out);
                }
            }
            None => {
                self.state.peers.insert(
                    id,
                    PeerState {
                        info,
                        up: true,
                        group: None,
                        paths: 0,
                        stats: PeerStats::default(),
                    },
                );
            }
        }
        self.refresh_cluster_ids();
        let group = self.join_group(id);
        out.joined.push((id, group));
        Touched::new()
    }

    /// A peer restarting gracefully came back with other facts (AS, router
    /// id, client or not): what its stale paths were exported with no
    /// longer holds. Its paths are taken out and settled under the old
    /// facts, then put back and settled under the new ones.
    fn retreat(&mut self, id: PeerId, info: PeerInfo, out: &mut RibOutput) {
        let keys = self.keys_of(id, None, false);
        let kept: Vec<(RouteKey, Vec<super::Candidate>)> = keys
            .iter()
            .filter_map(|k| Some((*k, self.state.loc.get(k)?.of_peer(id).to_vec())))
            .collect();
        self.settle_in_chunks(
            keys,
            |e, _| {
                let ids: Vec<Option<u32>> = e.of_peer(id).iter().map(|c| c.path_id()).collect();
                for i in ids {
                    e.remove(id, i);
                }
            },
            out,
        );
        if let Some(p) = self.state.peers.get_mut(&id) {
            p.info = info;
            p.up = true;
        }
        for chunk in kept.chunks(CHUNK) {
            let mut touched = Touched::new();
            for (key, paths) in chunk {
                let e = touch_entry(&mut touched, &mut self.state.loc, *key);
                for c in paths {
                    e.upsert(id, c.path_id(), c.labels(), c.attrs.clone());
                    if let Some(n) = e.get_mut(id, c.path_id()) {
                        n.set_stale(c.stale());
                    }
                }
            }
            self.settle(touched, out);
        }
    }

    pub(super) fn join_group(&mut self, peer: PeerId) -> GroupId {
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
                self.state.groups.insert(
                    id,
                    UpdateGroup {
                        key,
                        members: BTreeSet::new(),
                    },
                );
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
        if let Some(id) = self.leave_group_quietly(peer) {
            out.left.push((peer, id));
        }
    }

    /// Takes `peer` out of its group (a group left empty goes), without
    /// saying so in the output: the peer moves to another group.
    pub(super) fn leave_group_quietly(&mut self, peer: PeerId) -> Option<GroupId> {
        let id = self
            .state
            .peers
            .get_mut(&peer)
            .and_then(|p| p.group.take())?;
        if let btree_map::Entry::Occupied(mut g) = self.state.groups.entry(id) {
            g.get_mut().members.remove(&peer);
            if g.get().members.is_empty() {
                let g = g.remove();
                self.state.group_ids.remove(&g.key);
                if let Ok(c) = self.cache.get_mut() {
                    c.forget(id);
                }
            }
        }
        Some(id)
    }

    /// The destinations where `peer` has paths (of `family`, or all; only
    /// stale ones if `stale`), in order. A scan of the Loc-RIB: peers go
    /// down far less often than routes change, and an index per peer
    /// would cost memory for every path.
    fn keys_of(&self, peer: PeerId, family: Option<Family>, stale: bool) -> Vec<RouteKey> {
        if self.state.peers.get(&peer).is_none_or(|p| p.paths == 0) {
            return Vec::new();
        }
        self.state
            .loc
            .iter()
            .filter(|(k, _)| family.is_none_or(|f| k.family == f))
            .filter(|(_, e)| e.of_peer(peer).iter().any(|c| !stale || c.stale()))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Changes the entries of `keys` with `change` (which returns how many
    /// paths it removed) and settles them, a chunk at a time.
    pub(super) fn settle_in_chunks(
        &mut self,
        keys: Vec<RouteKey>,
        mut change: impl FnMut(&mut Entry, &mut usize),
        out: &mut RibOutput,
    ) -> usize {
        let mut removed = 0;
        for chunk in keys.chunks(CHUNK) {
            let mut touched = Touched::new();
            for key in chunk {
                touch(&mut touched, &self.state.loc, *key);
                if let Some(e) = self.state.loc.get_mut(key) {
                    change(e, &mut removed);
                }
            }
            self.settle(touched, out);
        }
        removed
    }

    /// The session went down: every path of the peer goes, or with
    /// `graceful` stays, stale. The peer itself is forgotten after its
    /// paths are settled (their exports need its facts).
    pub(super) fn peer_down(&mut self, peer: PeerId, graceful: bool, out: &mut RibOutput) {
        self.leave_group(peer, out);
        if !self.state.peers.contains_key(&peer) {
            return;
        }
        if graceful {
            if let Some(p) = self.state.peers.get_mut(&peer) {
                p.up = false;
            }
            if self.state.peers.get(&peer).is_some_and(|p| p.paths > 0) {
                for e in self.state.loc.values_mut() {
                    e.mark_stale(peer);
                }
            }
            // Nothing to decide again: stale paths are used as before.
            return;
        }
        let keys = self.keys_of(peer, None, false);
        self.settle_in_chunks(
            keys,
            |e, removed| {
                let ids: Vec<Option<u32>> = e.of_peer(peer).iter().map(|c| c.path_id()).collect();
                for id in ids {
                    if e.remove(peer, id) {
                        *removed += 1;
                    }
                }
            },
            out,
        );
        self.state.peers.remove(&peer);
        self.refresh_cluster_ids();
    }

    /// Removes a peer's stale paths, of one family or all.
    pub(super) fn sweep_stale(
        &mut self,
        peer: PeerId,
        family: Option<Family>,
        out: &mut RibOutput,
    ) {
        let keys = self.keys_of(peer, family, true);
        let removed = self.settle_in_chunks(keys, |e, r| remove_stale(e, peer, r), out);
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.paths = p.paths.saturating_sub(removed);
        }
    }

    /// RFC 9494 §4.2: a peer's restart time ran out. Its stale paths of
    /// `families` carry LLGR_STALE from now on (each attribute set changed
    /// once, still shared), but those marked NO_LLGR go, as do its stale
    /// paths of every other family.
    pub(super) fn long_lived_stale(
        &mut self,
        peer: PeerId,
        families: &[Family],
        out: &mut RibOutput,
    ) {
        // One scan of the Loc-RIB for both parts.
        let (kept, swept): (Vec<RouteKey>, Vec<RouteKey>) = self
            .keys_of(peer, None, true)
            .into_iter()
            .partition(|k| families.contains(&k.family));
        let mut removed = self.settle_in_chunks(swept, |e, r| remove_stale(e, peer, r), out);
        let mut marked: HashMap<*const PathAttributes, Arc<PathAttributes>> = HashMap::new();
        removed += self.settle_in_chunks(
            kept,
            |e, removed| {
                let ids = e.stale_path_ids(peer);
                for id in ids {
                    let Some(c) = e.get_mut(peer, id) else {
                        continue;
                    };
                    if c.attrs.has_community(Community::NO_LLGR) {
                        if e.remove(peer, id) {
                            *removed += 1;
                        }
                    } else if !c.attrs.has_community(Community::LLGR_STALE) {
                        c.attrs = marked
                            .entry(Arc::as_ptr(&c.attrs))
                            .or_insert_with(|| {
                                let mut a = PathAttributes::clone(&c.attrs);
                                a.add_community(Community::LLGR_STALE);
                                Arc::new(a)
                            })
                            .clone();
                    }
                }
            },
            out,
        );
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.paths = p.paths.saturating_sub(removed);
        }
    }

    /// Forgets a peer that is down once nothing of it is left (its stale
    /// paths swept).
    pub(super) fn forget_if_gone(&mut self, peer: PeerId) {
        if self
            .state
            .peers
            .get(&peer)
            .is_some_and(|p| !p.up && p.paths == 0)
        {
            self.state.peers.remove(&peer);
            self.refresh_cluster_ids();
        }
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
            remove_path(
                &mut touched,
                loc,
                p,
                peer,
                RouteKey::of(family, &e),
                e.path_id,
            );
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
                remove_path(&mut touched, loc, p, peer, key, e.path_id);
                continue;
            }
            if touch_entry(&mut touched, loc, key).upsert(peer, e.path_id, e.labels, attrs) {
                p.paths += 1;
            }
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

/// Removes `peer`'s stale paths from `e`, counting them in `removed`.
fn remove_stale(e: &mut Entry, peer: PeerId, removed: &mut usize) {
    for id in e.stale_path_ids(peer) {
        if e.remove(peer, id) {
            *removed += 1;
        }
    }
}
