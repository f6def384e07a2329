//! RIBs, the decision process and the propagation rules of a route
//! reflector (RFC 4271 §9, RFC 4456), as a deterministic state machine.
//!
//! [`Rib::apply`] takes a [`RibCommand`] and returns a [`RibOutput`]. The
//! same commands in the same order give the same state and the same
//! outputs on every member: nothing here reads a clock, draws a random
//! number or iterates a hash map in an order that matters (maps that
//! decide or order routes are `BTreeMap`s; the export cache is a lookup).
//!
//! - Loc-RIB ([`loc_rib`]): every candidate per destination and the
//!   [`decision`] over them; a peer's Adj-RIB-In is its candidates (after
//!   the [`import`] checks);
//! - Adj-RIB-Out per update group ([`update_group`], [`adj_rib_out`]): what
//!   [`export`] sends to peers that share an outbound treatment, computed
//!   from the Loc-RIB.

pub mod adj_rib_out;
mod chunk_map;
pub mod command;
pub mod decision;
pub mod digest;
pub mod export;
pub mod image;
pub mod import;
pub mod loc_rib;
pub mod output;
pub mod peer;
pub mod policy_change;
mod process;
pub mod recent;
mod reresolve;
mod settle;
pub mod update_group;

pub use command::RibCommand;
pub use decision::{Decision, DecisionConfig, DecisionStep, NextHopResolver, ResolveAll, Resolver};
pub use image::{DestinationImage, GroupImage, PathImage, PeerImage, RibImage};
pub use loc_rib::{Candidate, Entry, RouteKey};
pub use output::{BestPath, GroupChanges, LocRibChange, RibOutput};
pub use peer::{NextHopSelf, PeerId, PeerInfo, PeerStats};
pub use policy_change::{Attachment, ReplicatedPolicy};
pub use update_group::{GroupId, GroupKey, OutChange, OutPath, OutPaths, UpdateGroup};

use adj_rib_out::View;
use export::ExportCache;
use loc_rib::LocRib;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::Mutex;

use crate::policy::Policy;
use crate::wire::{Family, NlriEntry, PathAttributes};

/// Our own identity and options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RibConfig {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    /// The CLUSTER_ID of peers without one of their own (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
    pub decision: DecisionConfig,
    /// Route-maps by name, for the neighbours' `import` and `export`.
    /// Members of a cluster must load the same (as they share local AS
    /// and cluster id).
    pub policy: Arc<Policy>,
    /// RFC 8212: an eBGP peer without an export route-map is sent
    /// nothing (import is the session's: [`crate::policy::ImportFilter`]).
    pub ebgp_requires_policy: bool,
}

/// What the RIB keeps of a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PeerState {
    info: PeerInfo,
    /// False once the session went down gracefully: the paths stay, stale.
    up: bool,
    group: Option<GroupId>,
    /// Paths in its Adj-RIB-In.
    paths: usize,
    stats: PeerStats,
}

/// Routes of an Adj-RIB-Out page ([`Rib::adj_rib_out_page`]).
pub type AdjRibOutPage = Vec<(Family, NlriEntry, Arc<PathAttributes>)>;

/// The replicated part of the RIB: equal on every member after the same
/// commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct State {
    peers: BTreeMap<PeerId, PeerState>,
    loc: LocRib,
    groups: BTreeMap<GroupId, UpdateGroup>,
    group_ids: BTreeMap<GroupKey, GroupId>,
    next_group: u32,
    /// Every cluster id in use, sorted: the import check refuses them all.
    cluster_ids: Vec<Ipv4Addr>,
    /// The replicated policy and its version, once one was applied.
    policy: Option<(u64, Arc<ReplicatedPolicy>)>,
}

/// The RIBs of one speaker. `R` resolves next hops for the decision
/// process (default: everything resolves at cost 0).
pub struct Rib<R = Resolver> {
    config: RibConfig,
    resolver: R,
    state: State,
    /// Derived from the state; not compared. Behind a lock: reading an
    /// Adj-RIB-Out fills it (uncontended: commands take `&mut self`).
    cache: Mutex<ExportCache>,
    /// Destinations a command left without candidates, removed at its end.
    emptied: Vec<RouteKey>,
    /// The peers whose UPDATEs are sent from here ([`Rib::export_to`]).
    exported_to: Option<BTreeSet<PeerId>>,
}

impl Rib<Resolver> {
    pub fn new(config: RibConfig) -> Rib<Resolver> {
        Rib::with_resolver(config, Resolver::All)
    }
}

impl<R: NextHopResolver> Rib<R> {
    pub fn with_resolver(config: RibConfig, resolver: R) -> Rib<R> {
        let mut state = State::default();
        state.cluster_ids.push(config.cluster_id);
        Rib {
            config,
            resolver,
            state,
            cache: Mutex::new(ExportCache::default()),
            emptied: Vec::new(),
            exported_to: None,
        }
    }

    /// Limits the Adj-RIB-Out changes that commands compute to the groups
    /// with a member in `peers` (`None`, the default: every group). A
    /// cluster member sends only to the sessions it runs: the changes of a
    /// group served by other members are work for nothing here. Not part
    /// of the replicated state: Loc-RIB and groups are the same either way,
    /// and a peer that joins a group here gets its whole Adj-RIB-Out
    /// ([`Rib::group_routes`]) whatever was computed before.
    pub fn export_to(&mut self, peers: Option<BTreeSet<PeerId>>) {
        self.exported_to = peers;
    }

    /// Whether commands compute the changes of `group` ([`Rib::export_to`]).
    fn exports(&self, group: &UpdateGroup) -> bool {
        self.exported_to
            .as_ref()
            .is_none_or(|to| group.members.iter().any(|m| to.contains(m)))
    }

    /// Applies one command; see [`RibCommand`] for what each does.
    pub fn apply(&mut self, cmd: RibCommand) -> RibOutput {
        let mut out = RibOutput::default();
        match cmd {
            RibCommand::PeerUp(info) => {
                self.peer_up(info, &mut out);
            }
            RibCommand::Routes {
                peer,
                withdrawn,
                announced,
            } => {
                let touched = self.routes(peer, withdrawn, announced, &mut out);
                self.settle(touched, &mut out);
            }
            RibCommand::EndOfRib { peer, family } => {
                self.sweep_stale(peer, Some(family), &mut out);
                out.end_of_rib = Some((peer, family));
            }
            RibCommand::PeerDown { peer } => self.peer_down(peer, false, &mut out),
            RibCommand::PeerDownGraceful { peer } => self.peer_down(peer, true, &mut out),
            RibCommand::Policy(p) => self.change_policy(p, &mut out),
            RibCommand::Reresolve { prefixes } => self.reresolve(&prefixes, &mut out),
            RibCommand::RestartExpired { peer } => {
                self.sweep_stale(peer, None, &mut out);
                if self.state.peers.get(&peer).is_some_and(|p| !p.up) {
                    self.state.peers.remove(&peer);
                    self.refresh_cluster_ids();
                }
            }
            RibCommand::LongLivedStale { peer, families } => {
                self.long_lived_stale(peer, &families, &mut out);
                self.forget_if_gone(peer);
            }
            RibCommand::LongLivedExpired { peer, family } => {
                self.sweep_stale(peer, Some(family), &mut out);
                self.forget_if_gone(peer);
            }
        }
        self.drop_empty();
        out
    }

    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// The peer, while up or holding stale paths.
    pub fn peer(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.state.peers.get(&peer).map(|p| &p.info)
    }

    /// Every destination after `after` (from the first for `None`), in
    /// order, found by a search: a reader that takes the state machine's
    /// lock a page at a time resumes where its last page ended.
    pub fn loc_rib_after(
        &self,
        after: Option<&RouteKey>,
    ) -> impl Iterator<Item = (&RouteKey, &Entry)> + '_ {
        self.state.loc.iter_after(after)
    }

    /// The IPv4 and IPv6 unicast destinations after `after` (from the
    /// first for `None`), in order, found by a search: a paged reader (the
    /// API's RIB query, the MRT dump) resumes where its last page ended
    /// without walking from the start or through other families.
    pub fn unicast_after(
        &self,
        after: Option<RouteKey>,
    ) -> impl Iterator<Item = (&RouteKey, &Entry)> + '_ {
        let order = |f: Family| (f.afi.0, f.safi.0);
        [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            .into_iter()
            .filter(move |f| after.is_none_or(|a| order(*f) >= order(a.family)))
            .flat_map(move |f| {
                self.state
                    .loc
                    .iter_from_by(move |k| {
                        order(k.family) < order(f)
                            || after.is_some_and(|a| a.family == f && *k <= a)
                    })
                    .take_while(move |(k, _)| k.family == f)
                    .filter(|(k, _)| k.rd.is_none())
            })
    }

    /// Every peer the RIB knows (up, or holding stale paths).
    pub fn known_peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.state.peers.keys().copied()
    }

    /// Peers whose session is up, as the commands left them.
    pub fn peers_up(&self) -> Vec<PeerId> {
        self.state
            .peers
            .iter()
            .filter(|(_, p)| p.up)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn peer_stats(&self, peer: PeerId) -> Option<PeerStats> {
        self.state.peers.get(&peer).map(|p| p.stats)
    }

    /// Every destination with its candidates, in order (including
    /// destinations whose candidates are all unusable).
    pub fn loc_rib(&self) -> impl Iterator<Item = (&RouteKey, &Entry)> + '_ {
        self.state.loc.iter()
    }

    /// The candidates of one destination.
    pub fn loc_rib_entry(&self, key: &RouteKey) -> Option<&Entry> {
        self.state.loc.get(key)
    }

    /// The candidates a destination's traffic is forwarded over: the best
    /// path, then those equal to it for ECMP
    /// ([`decision::multipath`], `config.decision.multipath` at most).
    pub fn forwarding_paths(&self, key: &RouteKey) -> Vec<&Candidate> {
        let Some(entry) = self.state.loc.get(key) else {
            return Vec::new();
        };
        settle::multipath(
            &self.config,
            &self.resolver,
            &self.state.peers,
            key.family,
            entry,
        )
        .into_iter()
        .filter_map(|i| entry.candidates().get(i))
        .collect()
    }

    /// Destinations with a best path.
    pub fn loc_rib_len(&self) -> usize {
        self.state
            .loc
            .values()
            .filter(|e| e.decision().is_some())
            .count()
    }

    pub fn entry(&self, key: &RouteKey) -> Option<&Entry> {
        self.state.loc.get(key)
    }

    pub fn best(&self, key: &RouteKey) -> Option<&Candidate> {
        self.state.loc.get(key).and_then(Entry::best)
    }

    /// Why the best path won: the step that set it apart from the runner-up.
    pub fn explain(&self, key: &RouteKey) -> Option<DecisionStep> {
        self.state.loc.get(key)?.decision().map(|d| d.step)
    }

    /// A peer's Adj-RIB-In (after import checks), in order.
    pub fn adj_rib_in(&self, peer: PeerId) -> impl Iterator<Item = (RouteKey, &Candidate)> + '_ {
        let any = self.state.peers.get(&peer).is_some_and(|p| p.paths > 0);
        self.state
            .loc
            .iter()
            .take_while(move |_| any)
            .flat_map(move |(k, e)| e.of_peer(peer).iter().map(move |c| (*k, c)))
    }

    /// How many paths a peer's Adj-RIB-In holds.
    pub fn adj_rib_in_len(&self, peer: PeerId) -> usize {
        self.state.peers.get(&peer).map_or(0, |p| p.paths)
    }

    /// How many paths the Adj-RIBs-In of all peers hold together.
    pub fn adj_rib_in_total(&self) -> usize {
        self.state.peers.values().map(|p| p.paths).sum()
    }

    pub fn group_of(&self, peer: PeerId) -> Option<GroupId> {
        self.state.peers.get(&peer)?.group
    }

    pub fn group(&self, group: GroupId) -> Option<&UpdateGroup> {
        self.state.groups.get(&group)
    }

    pub fn groups(&self) -> impl Iterator<Item = (&GroupId, &UpdateGroup)> + '_ {
        self.state.groups.iter()
    }

    /// A group's Adj-RIB-Out, in destination order: `(family, NLRI entry
    /// with the path id sent, path)`.
    pub fn group_routes(
        &self,
        group: GroupId,
    ) -> impl Iterator<Item = (Family, NlriEntry, OutPath)> + '_ {
        let view = View {
            config: &self.config,
            resolver: &self.resolver,
            peers: &self.state.peers,
        };
        let g = self.state.groups.get(&group);
        self.state
            .loc
            .iter()
            .filter(move |_| g.is_some())
            .filter(move |(k, _)| g.is_some_and(|g| g.key.has_family(k.family)))
            .flat_map(move |(k, e)| {
                let paths = match g {
                    Some(g) => self.exported(&view, group, g, *k, e),
                    None => OutPaths::new(),
                };
                let add_path = g.is_some_and(|g| g.key.add_path(k.family));
                paths
                    .into_iter()
                    .map(move |(id, p)| (k.family, k.entry(add_path.then_some(id), p.labels), p))
            })
    }

    /// One page of what `peer` is sent ([`Rib::adj_rib_out_for`]), of
    /// `family` or of all: the destinations after `after` (from the
    /// start for `None`), `max` destinations looked at at most, so a table
    /// is sent in pieces, each found by a search, not a walk from the
    /// start. The routes, and the last destination looked at (where the
    /// next page starts); `None` there: the table is done.
    pub fn adj_rib_out_page(
        &self,
        peer: PeerId,
        family: Option<Family>,
        after: Option<RouteKey>,
        max: usize,
    ) -> (AdjRibOutPage, Option<RouteKey>) {
        let order = |f: Family| (f.afi.0, f.safi.0);
        let Some((group, g)) = self
            .group_of(peer)
            .and_then(|id| self.state.groups.get(&id).map(|g| (id, g)))
        else {
            return (Vec::new(), None);
        };
        let view = View {
            config: &self.config,
            resolver: &self.resolver,
            peers: &self.state.peers,
        };
        let start = self.state.loc.iter_from_by(|k| match after {
            Some(a) => *k <= a,
            None => family.is_some_and(|f| order(k.family) < order(f)),
        });
        let mut routes = Vec::new();
        let mut last = None;
        for (looked, (k, e)) in start.enumerate() {
            if family.is_some_and(|f| k.family != f) {
                // Past the family: done.
                return (routes, None);
            }
            if looked == max {
                return (routes, last);
            }
            last = Some(*k);
            if !g.key.has_family(k.family) {
                continue;
            }
            let paths = self.exported(&view, group, g, *k, e);
            let add_path = g.key.add_path(k.family);
            routes.extend(
                paths
                    .into_iter()
                    .filter(|(_, p)| p.except != peer)
                    .map(|(id, p)| (k.family, k.entry(add_path.then_some(id), p.labels), p.attrs)),
            );
        }
        (routes, None)
    }

    /// The paths `group` is sent for destination `k`, through the export
    /// cache.
    fn exported(
        &self,
        view: &View<'_, R>,
        group: GroupId,
        g: &UpdateGroup,
        k: RouteKey,
        e: &Entry,
    ) -> OutPaths {
        match self.cache.lock() {
            Ok(mut cache) => view.paths(&mut cache, group, g, k, e),
            // A panic while filling the cache left it half written:
            // compute without it.
            Err(_) => view.paths(&mut ExportCache::default(), group, g, k, e),
        }
    }

    /// What `peer` is sent: its group's Adj-RIB-Out without the paths it
    /// sent itself (split horizon).
    pub fn adj_rib_out_for(
        &self,
        peer: PeerId,
    ) -> impl Iterator<Item = (Family, NlriEntry, Arc<PathAttributes>)> + '_ {
        self.group_of(peer)
            .into_iter()
            .flat_map(|g| self.group_routes(g))
            .filter(move |(_, _, p)| p.except != peer)
            .map(|(f, e, p)| (f, e, p.attrs))
    }

    /// Whether `peer` is sent a path for destination `key` now (its
    /// group's Adj-RIB-Out, split horizon applied).
    pub fn sends(&self, peer: PeerId, key: &RouteKey) -> bool {
        let Some((group, g)) = self
            .group_of(peer)
            .and_then(|id| self.state.groups.get(&id).map(|g| (id, g)))
        else {
            return false;
        };
        let Some(e) = self.state.loc.get(key) else {
            return false;
        };
        if !g.key.has_family(key.family) {
            return false;
        }
        let view = View {
            config: &self.config,
            resolver: &self.resolver,
            peers: &self.state.peers,
        };
        self.exported(&view, group, g, *key, e)
            .iter()
            .any(|(_, p)| p.except != peer)
    }

    /// Exported attribute sets cached (derived state, for metrics).
    pub fn export_cache_len(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.len())
    }

    /// Whether two RIBs hold the same replicated state (the export cache,
    /// which only saves work, is not compared).
    pub fn same_state<S>(&self, other: &Rib<S>) -> bool {
        self.config == other.config && self.state == other.state
    }
}
