//! An update group's Adj-RIB-Out (RFC 4271 §3.2), computed rather than
//! stored: for each destination, what the propagation rules ([`super::export`])
//! make of its candidates for the group. Storing it would cost a copy of
//! the table per group; computing it costs an export-cache lookup.

use super::decision::NextHopResolver;
use super::export::{self, ExportCache, Source, Stage};
use super::loc_rib::{Candidate, Entry, RouteKey};
use super::update_group::{GroupId, OutPath, OutPaths, UpdateGroup};
use super::{PeerId, PeerState, RibConfig};
use crate::policy::{Direction, Route, Verdict};
use crate::wire::attr::MpNextHop;
use crate::wire::{Family, PathAttributes};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

pub(super) type Peers = BTreeMap<PeerId, PeerState>;

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

pub(super) fn igp_cost<R: NextHopResolver>(
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

/// What the RIB needs to compute a group's Adj-RIB-Out.
pub(super) struct View<'a, R> {
    pub config: &'a RibConfig,
    pub resolver: &'a R,
    pub peers: &'a Peers,
}

impl<R: NextHopResolver> View<'_, R> {
    /// What `group` is sent for `key`, sorted by the path id sent: the best
    /// path, or with ADD-PATH every usable path (RFC 7911), each if the
    /// propagation rules let it go there.
    pub fn paths(
        &self,
        cache: &mut ExportCache,
        gid: GroupId,
        group: &UpdateGroup,
        key: RouteKey,
        entry: &Entry,
    ) -> OutPaths {
        // The group's export route-map; RFC 8212: none towards eBGP sends
        // nothing. A name the policy lacks sends nothing either (the
        // configuration is checked, so only a policy being replaced).
        let map = match &group.key.export {
            Some(name) => match self.config.policy.route_map(name) {
                Some(m) => Some(m),
                None => return OutPaths::new(),
            },
            None if group.key.ebgp && self.config.ebgp_requires_policy => return OutPaths::new(),
            None => None,
        };
        let local_as = self.config.local_as;
        let mut export_one = |c: &Candidate| -> Option<OutPath> {
            let p = self.peers.get(&c.peer)?;
            let src = Source {
                ebgp: p.info.asn != local_as,
                rr_client: p.info.rr_client,
                router_id: p.info.router_id,
            };
            let mode = export::mode(&src, &c.attrs, &group.key)?;
            let attrs = match map {
                None => cache.get(gid, &group.key, &c.attrs, mode, Stage::Whole, local_as)?,
                Some(map) => {
                    let pre = cache.get(gid, &group.key, &c.attrs, mode, Stage::Pre, local_as)?;
                    let route = Route {
                        family: key.family,
                        prefix: &key.prefix,
                        attrs: &pre,
                        // Peers of a group share its exports: `neighbor`
                        // matches on import only.
                        neighbor: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        local_as,
                        direction: Direction::Export,
                    };
                    match cache.export_verdict(map, &route) {
                        Verdict::Deny => return None,
                        Verdict::Permit(p) => {
                            let post = Stage::Post(p.next_hop);
                            cache.get(gid, &group.key, &p.attrs, mode, post, local_as)?
                        }
                    }
                }
            };
            Some(OutPath {
                labels: c.labels(),
                attrs,
                except: c.peer,
            })
        };
        if !group.key.add_path(key.family) {
            return entry
                .best()
                .and_then(&mut export_one)
                .map(|p| smallvec::smallvec![(0, p)])
                .unwrap_or_default();
        }
        let mut v: OutPaths = entry
            .candidates()
            .iter()
            .filter(|c| igp_cost(self.resolver, key.family, &c.attrs).is_some())
            .filter_map(|c| Some((c.local_id, export_one(c)?)))
            .collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }
}
