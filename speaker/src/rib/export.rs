//! Propagation rules: which paths go to which group (RFC 4271 §9.2,
//! RFC 4456 §8, RFC 1997) and the attributes they carry there. The
//! exported set of one (source set, group, mode) is computed once and
//! shared by every destination that uses it.

use super::update_group::{GroupId, GroupKey};
use crate::policy::route_map::Memo;
use crate::policy::{NextHopTreatment, Route, RouteMap, Verdict};
use crate::wire::attr::Community;
use crate::wire::attr::{
    AsSegment, AttrValue, MpNextHop, PathAttribute, SegmentType, type_code as t,
};
use crate::wire::family::NlriFormat;
use crate::wire::prefix::RouteDistinguisher;
use crate::wire::{Afi, PathAttributes};
use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// What the source of a path is, as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub ebgp: bool,
    pub rr_client: bool,
    pub router_id: Ipv4Addr,
}

/// How a path is rewritten for a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportMode {
    /// To an eBGP peer (RFC 4271 §5.1.2, §5.1.3, §5.1.4, §5.1.5).
    ToEbgp,
    /// An eBGP-learned path to an iBGP peer.
    EbgpToIbgp,
    /// An iBGP-learned path reflected to an iBGP peer (RFC 4456 §8);
    /// `originator` is set when the path has no ORIGINATOR_ID yet.
    Reflect { originator: Option<Ipv4Addr> },
}

/// Whether a path from `src` goes to `group`, and how.
pub fn mode(src: &Source, attrs: &PathAttributes, group: &GroupKey) -> Option<ExportMode> {
    // RFC 1997: NO_ADVERTISE to nobody; NO_EXPORT (and, without
    // confederations, NO_EXPORT_SUBCONFED) not outside the AS.
    if attrs.has_community(Community::NO_ADVERTISE) {
        return None;
    }
    // RFC 9494 §4.5: a long-lived stale route only to a peer that
    // understands LLGR_STALE (one that does not would prefer it).
    if !group.long_lived && attrs.has_community(Community::LLGR_STALE) {
        return None;
    }
    if group.ebgp {
        if attrs.has_community(Community::NO_EXPORT)
            || attrs.has_community(Community::NO_EXPORT_SUBCONFED)
        {
            return None;
        }
        return Some(ExportMode::ToEbgp);
    }
    if src.ebgp {
        return Some(ExportMode::EbgpToIbgp);
    }
    // RFC 4456 §8: client paths to every client and non-client; non-client
    // paths to clients only. Without reflection iBGP paths stay put (§9.2).
    if !src.rr_client && !group.rr_client {
        return None;
    }
    let originator = attrs.originator_id().is_none().then_some(src.router_id);
    Some(ExportMode::Reflect { originator })
}

/// Which part of the export rewrite to do. An export route-map runs
/// between the two parts, as FRR's does: on the attributes as the group
/// will get them, before our AS is prepended towards eBGP (so a map's
/// prepend comes after ours) and before the next hop is set (so a map's
/// `next-hop unchanged` or `self` decides it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Both parts (no route-map).
    Whole,
    /// What comes before the route-map.
    Pre,
    /// What comes after it, with its next-hop treatment.
    Post(NextHopTreatment),
}

/// The attributes of a path exported to `group` in `mode` (see [`Stage`]);
/// `None` when they cannot be built (no next-hop-self address for the
/// family).
pub fn rewrite(
    attrs: &PathAttributes,
    mode: ExportMode,
    stage: Stage,
    group: &GroupKey,
    local_as: u32,
) -> Option<PathAttributes> {
    let mut out = attrs.clone();
    if !matches!(stage, Stage::Post(_)) {
        before_policy(&mut out, attrs, mode, group)?;
    }
    match stage {
        Stage::Whole => after_policy(&mut out, mode, NextHopTreatment::Default, group, local_as)?,
        Stage::Post(nh) => after_policy(&mut out, mode, nh, group, local_as)?,
        Stage::Pre => {}
    }
    Some(out)
}

fn before_policy(
    out: &mut PathAttributes,
    attrs: &PathAttributes,
    mode: ExportMode,
    group: &GroupKey,
) -> Option<()> {
    // RFC 4271 §9.1.3 / §5: unknown non-transitive attributes go, unknown
    // transitive ones get Partial; malformed ones are never passed on.
    out.prepare_for_propagation();
    match mode {
        ExportMode::ToEbgp => {
            // §5.1.4 a received MED does not cross AS borders (a MED the
            // export route-map sets does); the reflection attributes are
            // meaningless outside the AS. LOCAL_PREF (§5.1.5) goes after
            // the route-map, which may match on it (as in FRR).
            for code in [t::MULTI_EXIT_DISC, t::ORIGINATOR_ID, t::CLUSTER_LIST] {
                out.remove(code);
            }
        }
        ExportMode::EbgpToIbgp => {
            // §5.1.5: LOCAL_PREF in every iBGP UPDATE.
            if out.local_pref().is_none() {
                out.set(PathAttribute::new(AttrValue::LocalPref(100)));
            }
            out.remove(t::ORIGINATOR_ID);
            out.remove(t::CLUSTER_LIST);
        }
        ExportMode::Reflect { originator } => {
            // RFC 4271 §5.1.5: LOCAL_PREF in every iBGP UPDATE. A path
            // received without one was selected with 100 (§9.1.1, as BIRD
            // assigns on import); sent without it, FRR treats it as
            // withdrawn ("Missing well-known attribute LOCAL_PREF").
            if out.local_pref().is_none() {
                out.set(PathAttribute::new(AttrValue::LocalPref(100)));
            }
            // RFC 4456 §8: ORIGINATOR_ID once, CLUSTER_ID prepended;
            // NEXT_HOP and everything else untouched.
            if let Some(id) = originator {
                out.set(PathAttribute::new(AttrValue::OriginatorId(id)));
            }
            let cluster = group.cluster_id?;
            let mut list = Vec::with_capacity(1 + attrs.cluster_list().map_or(0, Vec::len));
            list.push(cluster);
            list.extend(attrs.cluster_list().into_iter().flatten());
            out.set(PathAttribute::new(AttrValue::ClusterList(list)));
        }
    }
    Some(())
}

fn after_policy(
    out: &mut PathAttributes,
    mode: ExportMode,
    next_hop: NextHopTreatment,
    group: &GroupKey,
    local_as: u32,
) -> Option<()> {
    // A route-map's `next-hop self` applies to iBGP too.
    if next_hop == NextHopTreatment::SelfAddress {
        next_hop_self(out, group)?;
    }
    if mode == ExportMode::ToEbgp {
        prepend_as(out, local_as);
        if next_hop == NextHopTreatment::Default {
            next_hop_self(out, group)?;
        }
        // §5.1.5, even if a route-map set one.
        out.remove(t::LOCAL_PREF);
    }
    Some(())
}

/// RFC 4271 §5.1.2 (b): prepend our AS to a leading AS_SEQUENCE (or start
/// one). Confederation segments are dropped first (RFC 5065 §5.3).
fn prepend_as(attrs: &mut PathAttributes, local_as: u32) {
    let mut segments: Vec<AsSegment> = attrs
        .as_path()
        .into_iter()
        .flat_map(|p| p.segments())
        .filter(|s| matches!(s.kind, SegmentType::Sequence | SegmentType::Set))
        .map(|s| AsSegment {
            kind: s.kind,
            asns: s.asns.to_vec(),
        })
        .collect();
    match segments.first_mut() {
        Some(first) if first.kind == SegmentType::Sequence && first.asns.len() < 255 => {
            first.asns.insert(0, local_as);
        }
        _ => segments.insert(
            0,
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![local_as],
            },
        ),
    }
    let path = crate::wire::attr::AsPath::from_segments(segments);
    attrs.set(PathAttribute::new(AttrValue::AsPath(path)));
}

/// RFC 4271 §5.1.3: towards eBGP, our own address is the next hop, in
/// NEXT_HOP and in the MP_REACH_NLRI header (RFC 4760 §3).
fn next_hop_self(attrs: &mut PathAttributes, group: &GroupKey) -> Option<()> {
    let nh = group.next_hop_self;
    for a in &mut attrs.attrs {
        match &mut a.value {
            AttrValue::NextHop(addr) => *addr = nh.ipv4?,
            AttrValue::MpReachNlri(h) => {
                let zero = RouteDistinguisher::default();
                h.next_hop = match (h.family.nlri_format(), h.family.afi) {
                    (NlriFormat::Opaque, _) => continue,
                    (NlriFormat::Vpn, Afi::IPV4) => MpNextHop::VpnIpv4(zero, nh.ipv4?),
                    (NlriFormat::Vpn, _) => MpNextHop::VpnIpv6(zero, nh.ipv6?),
                    (_, Afi::IPV4) => match nh.ipv4 {
                        Some(a) => MpNextHop::Ipv4(a),
                        // RFC 8950: IPv4 NLRI over an IPv6 next hop.
                        None => MpNextHop::Ipv6(nh.ipv6?),
                    },
                    _ => MpNextHop::Ipv6(nh.ipv6?),
                };
            }
            _ => {}
        }
    }
    Some(())
}

type CacheKey = (GroupId, usize, ExportMode, Stage);
/// The source set (held so its address stays unique) and its export.
type CacheValue = (Arc<PathAttributes>, Option<Arc<PathAttributes>>);

/// Exported sets by (group, source set, mode): a working set, not a copy
/// of every export. Within a command (and a batch of them) the same source
/// set gives the same exported `Arc`, so UPDATE packing can group by it;
/// past [`CACHE_MIN`] entries, those nobody holds any more are dropped, so
/// a full table does not keep a second, rewritten copy of its attribute
/// sets (each costs as much as its source). The entry holds the source
/// `Arc`, so its address cannot be reused by another set while cached.
/// Lookup only: nothing iterates it in an order that matters.
#[derive(Default)]
pub struct ExportCache {
    map: HashMap<CacheKey, CacheValue, FixedState>,
    next_purge: usize,
    /// What export route-maps learned of the sets they saw: the result
    /// for a set is one `Arc` while it holds it, so the routes that share
    /// a set share their entry here and their UPDATEs, and the map's
    /// expressions and sets run once per set, not once per route.
    policy: Memo,
}

const CACHE_MIN: usize = 16_384;

impl ExportCache {
    /// An export route-map's verdict on a route, remembered per attribute
    /// set (bounded: past [`CACHE_MIN`] sets it starts again).
    pub fn export_verdict(&mut self, map: &RouteMap, route: &Route<'_>) -> Verdict {
        if self.policy.len() > CACHE_MIN {
            self.policy.clear();
        }
        map.apply_with(route, &mut self.policy)
    }

    /// The exported set, computed on first use.
    pub fn get(
        &mut self,
        group: GroupId,
        key: &GroupKey,
        attrs: &Arc<PathAttributes>,
        mode: ExportMode,
        stage: Stage,
        local_as: u32,
    ) -> Option<Arc<PathAttributes>> {
        let k = (group, Arc::as_ptr(attrs) as usize, mode, stage);
        if let Some((_, out)) = self.map.get(&k) {
            return out.clone();
        }
        if self.map.len() >= self.next_purge.max(CACHE_MIN) {
            self.purge();
        }
        let out = rewrite(attrs, mode, stage, key, local_as).map(Arc::new);
        self.map.insert(k, (attrs.clone(), out.clone()));
        out
    }

    /// Drops the entries that only the cache holds: their export is not
    /// waiting to be sent anywhere, and is computed again when needed.
    pub fn purge(&mut self) {
        self.map
            .retain(|_, (_, out)| out.as_ref().is_some_and(|o| Arc::strong_count(o) > 1));
        // Hysteresis: a full cache is not rescanned on every insert.
        self.next_purge = 2 * self.map.len();
    }

    /// Forgets a group's entries (the group is gone).
    pub fn forget(&mut self, group: GroupId) {
        self.map.retain(|(g, _, _, _), _| *g != group);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
