//! After a command: rerun the decision process for every touched
//! destination (RFC 4271 §9.1.2) and bring every group's Adj-RIB-Out in
//! line (§9.1.3, RFC 4456 §8), in destination order then group order.

use super::decision::{self, PathRank};
use super::export::{self, ExportCache, Source};
use super::loc_rib::{Entry, RouteKey};
use super::output::{BestPath, GroupChanges, LocRibChange, RibOutput};
use super::process::Touched;
use super::update_group::{GroupId, OutChange, OutPath, UpdateGroup};
use super::{NextHopResolver, PeerState, Rib, RibConfig};
use crate::wire::attr::MpNextHop;
use crate::wire::{Family, PathAttributes};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

type Peers = BTreeMap<super::PeerId, PeerState>;

impl<R: NextHopResolver> Rib<R> {
    pub(super) fn settle(&mut self, touched: Touched, out: &mut RibOutput) {
        let mut changes: BTreeMap<GroupId, Vec<OutChange>> = BTreeMap::new();
        let state = &mut self.state;
        for (key, before) in touched {
            let Some(entry) = state.loc.get_mut(&key) else {
                continue;
            };
            entry.decision = run_decision(
                &self.config,
                &self.resolver,
                &state.peers,
                key.family,
                entry,
            );
            let after = entry.best();
            let changed = match (&before, after) {
                (None, None) => false,
                (Some(b), Some(c)) => {
                    b.peer != c.peer
                        || b.path_id != c.path_id
                        || b.labels != c.labels
                        || !Arc::ptr_eq(&b.attrs, &c.attrs)
                }
                _ => true,
            };
            if changed {
                out.loc_rib.push(LocRibChange {
                    key,
                    best: after.map(BestPath::of),
                });
            }
            for (gid, group) in state.groups.iter_mut() {
                if !group.key.has_family(key.family) {
                    continue;
                }
                let desired = desired(
                    &self.config,
                    &self.resolver,
                    &state.peers,
                    &mut self.cache,
                    *gid,
                    group,
                    key,
                    entry,
                );
                group.reconcile(key, desired, changes.entry(*gid).or_default());
            }
            if entry.candidates.is_empty() {
                state.loc.remove(&key);
            }
        }
        out.groups.extend(
            changes
                .into_iter()
                .filter(|(_, c)| !c.is_empty())
                .map(|(group, changes)| GroupChanges { group, changes }),
        );
    }

    /// Computes a new group's whole Adj-RIB-Out from the Loc-RIB.
    pub(super) fn fill_group(&mut self, id: GroupId, group: &mut UpdateGroup) {
        let mut sink = Vec::new();
        for (key, entry) in &self.state.loc {
            if !group.key.has_family(key.family) {
                continue;
            }
            let desired = desired(
                &self.config,
                &self.resolver,
                &self.state.peers,
                &mut self.cache,
                id,
                group,
                *key,
                entry,
            );
            group.reconcile(*key, desired, &mut sink);
            sink.clear();
        }
    }
}

/// The next hop of a path in `family`: MP_REACH_NLRI's when it is of
/// that family (RFC 4760 §3), else NEXT_HOP.
pub fn next_hop(family: Family, attrs: &PathAttributes) -> Option<IpAddr> {
    if let Some(h) = attrs.mp_reach().filter(|h| h.family == family) {
        return match h.next_hop {
            MpNextHop::Ipv4(a) | MpNextHop::VpnIpv4(_, a) => Some(IpAddr::V4(a)),
            MpNextHop::Ipv6(a)
            | MpNextHop::Ipv6LinkLocal(a, _)
            | MpNextHop::VpnIpv6(_, a)
            | MpNextHop::VpnIpv6LinkLocal(_, a, _, _) => Some(IpAddr::V6(a)),
            MpNextHop::Other(_) => None,
        };
    }
    attrs.next_hop().map(|a| IpAddr::V4(*a))
}

fn igp_cost<R: NextHopResolver>(
    resolver: &R,
    family: Family,
    attrs: &PathAttributes,
) -> Option<u32> {
    match next_hop(family, attrs) {
        Some(nh) => resolver.igp_cost(family, nh),
        // A family whose next hop is opaque to us: nothing to resolve.
        None => Some(0),
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
    // One candidate (most destinations): no allocation.
    if let [only] = entry.candidates.as_slice() {
        return decision::decide(&[rank(only)?], &config.decision);
    }
    let ranks: Vec<PathRank<'_>> = entry.candidates.iter().filter_map(rank).collect();
    // Every candidate has its peer (paths go when their peer goes), so the
    // indexes of `ranks` are those of `entry.candidates`.
    if ranks.len() != entry.candidates.len() {
        return None;
    }
    decision::decide(&ranks, &config.decision)
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
        path_id: c.path_id,
        igp_cost: igp_cost(resolver, family, &c.attrs),
    })
}

/// What `group` should hold for `key`, sorted by the path id sent: the best
/// path, or with ADD-PATH every usable path (RFC 7911), each if the
/// propagation rules let it go there.
#[allow(clippy::too_many_arguments)]
fn desired<R: NextHopResolver>(
    config: &RibConfig,
    resolver: &R,
    peers: &Peers,
    cache: &mut ExportCache,
    gid: GroupId,
    group: &UpdateGroup,
    key: RouteKey,
    entry: &Entry,
) -> Vec<(u32, OutPath)> {
    let mut export_one = |c: &super::Candidate| -> Option<OutPath> {
        let p = peers.get(&c.peer)?;
        let src = Source {
            ebgp: p.info.asn != config.local_as,
            rr_client: p.info.rr_client,
            router_id: p.info.router_id,
        };
        let mode = export::mode(&src, &c.attrs, &group.key)?;
        let attrs = cache.get(gid, &group.key, &c.attrs, mode, config.local_as)?;
        Some(OutPath {
            labels: c.labels,
            attrs,
            except: c.peer,
        })
    };
    if !group.key.add_path(key.family) {
        return entry
            .best()
            .and_then(&mut export_one)
            .map(|p| vec![(0, p)])
            .unwrap_or_default();
    }
    let mut v: Vec<(u32, OutPath)> = entry
        .candidates
        .iter()
        .filter(|c| igp_cost(resolver, key.family, &c.attrs).is_some())
        .filter_map(|c| Some((c.local_id, export_one(c)?)))
        .collect();
    v.sort_unstable_by_key(|(id, _)| *id);
    v
}
