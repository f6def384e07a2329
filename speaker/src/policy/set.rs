//! Set actions of a route-map entry: how a permitted route's attributes
//! change. The attribute set is copied on the first change only
//! (`Arc::make_mut`), so a map that sets nothing costs no allocation.

use super::community_list::CommunityList;
use super::route_map::{Direction, NextHopTreatment, Permitted, Route};
use crate::wire::attr::{
    AsPath, AttrValue, Community, ExtCommunity, LargeCommunity, MpNextHop, Origin, PathAttribute,
    PathAttributes, type_code,
};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MedSet {
    Value(u32),
    /// Added to the route's MED (0 when absent), saturating.
    Add(u32),
    /// Taken from the route's MED, down to 0.
    Subtract(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextHopSet {
    /// An IPv4 address sets NEXT_HOP (IPv4 routes), an IPv6 one the
    /// global next hop of MP_REACH_NLRI (IPv6 routes); a route of the
    /// other family is left alone (refused at load where the entry's
    /// prefix list tells the family).
    Address(IpAddr),
    /// Our address on the session.
    SelfAddress,
    /// Kept as received, even towards eBGP.
    Unchanged,
    /// Import: the neighbour's address; export: ours.
    PeerAddress,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepend {
    /// Our AS, this many times.
    Own(u8),
    Asns(Vec<u32>),
}

/// Communities of one kind to add or to replace all of that kind with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommunityValues {
    Standard(Vec<Community>),
    Extended(Vec<ExtCommunity>),
    Large(Vec<LargeCommunity>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Set {
    LocalPref(u32),
    Med(MedSet),
    Origin(Origin),
    NextHop(NextHopSet),
    Prepend(Prepend),
    /// Every occurrence of these ASes taken out of the path.
    Exclude(Vec<u32>),
    CommunityAdd(CommunityValues),
    /// Those of the list's kind that the list permits, each on its own.
    CommunityRemove(Arc<CommunityList>),
    /// All of the kind replaced (empty: none left, the attribute goes).
    CommunityReplace(CommunityValues),
    Weight(u32),
}

fn set_attr(attrs: &mut Arc<PathAttributes>, value: AttrValue) {
    Arc::make_mut(attrs).set(PathAttribute::new(value));
}

/// Whether the address applied (it is of the route's family).
fn set_next_hop(attrs: &mut Arc<PathAttributes>, addr: IpAddr) -> bool {
    let has_mp = attrs.mp_reach().is_some();
    match addr {
        IpAddr::V4(a) if !has_mp => set_attr(attrs, AttrValue::NextHop(a)),
        IpAddr::V6(a) if has_mp => {
            for at in &mut Arc::make_mut(attrs).attrs {
                if let AttrValue::MpReachNlri(h) = &mut at.value {
                    h.next_hop = match h.next_hop {
                        MpNextHop::Ipv6(_) => MpNextHop::Ipv6(a),
                        // A new global address: the old link-local one
                        // belonged to the old next hop.
                        MpNextHop::Ipv6LinkLocal(..) => MpNextHop::Ipv6(a),
                        ref other => other.clone(),
                    };
                }
            }
        }
        _ => return false,
    }
    true
}

/// Adds values not yet carried, keeping the order (new ones at the end).
fn add<T: PartialEq + Clone>(have: Option<&Vec<T>>, new: &[T]) -> Vec<T> {
    let mut v = have.cloned().unwrap_or_default();
    for n in new {
        if !v.contains(n) {
            v.push(n.clone());
        }
    }
    v
}

/// The values `remove` does not take, if it takes any.
fn without<T: Copy>(have: Option<&Vec<T>>, remove: impl Fn(T) -> bool) -> Option<Vec<T>> {
    let have = have?;
    let keep: Vec<T> = have.iter().copied().filter(|c| !remove(*c)).collect();
    (keep.len() != have.len()).then_some(keep)
}

/// Sets the communities of one kind; none left removes the attribute.
fn put_communities(attrs: &mut Arc<PathAttributes>, values: CommunityValues) {
    let (code, value) = match values {
        CommunityValues::Standard(v) => (
            type_code::COMMUNITIES,
            (!v.is_empty()).then(|| AttrValue::Communities(v)),
        ),
        CommunityValues::Extended(v) => (
            type_code::EXTENDED_COMMUNITIES,
            (!v.is_empty()).then(|| AttrValue::ExtendedCommunities(v)),
        ),
        CommunityValues::Large(v) => (
            type_code::LARGE_COMMUNITIES,
            (!v.is_empty()).then(|| AttrValue::LargeCommunities(v)),
        ),
    };
    match value {
        Some(v) => set_attr(attrs, v),
        None if attrs.get(code).is_some() => Arc::make_mut(attrs).remove(code),
        None => {}
    }
}

pub fn apply(s: &Set, r: &Route<'_>, out: &mut Permitted) {
    let attrs = &mut out.attrs;
    match s {
        Set::LocalPref(v) => set_attr(attrs, AttrValue::LocalPref(*v)),
        Set::Med(m) => {
            let old = attrs.med().copied().unwrap_or(0);
            let new = match m {
                MedSet::Value(v) => *v,
                MedSet::Add(v) => old.saturating_add(*v),
                MedSet::Subtract(v) => old.saturating_sub(*v),
            };
            set_attr(attrs, AttrValue::MultiExitDisc(new));
        }
        Set::Origin(o) => set_attr(attrs, AttrValue::Origin(*o)),
        Set::NextHop(n) => match (n, r.direction) {
            (NextHopSet::Address(a), Direction::Import) => {
                set_next_hop(attrs, *a);
            }
            // Configured, so it stands towards eBGP too (RFC 4271 §5.1.3
            // makes our own address the default only), as in FRR.
            (NextHopSet::Address(a), Direction::Export) => {
                if set_next_hop(attrs, *a) {
                    out.next_hop = NextHopTreatment::Unchanged;
                }
            }
            (NextHopSet::PeerAddress, Direction::Import) => {
                set_next_hop(attrs, r.neighbor);
            }
            (NextHopSet::SelfAddress, _) | (NextHopSet::PeerAddress, Direction::Export) => {
                out.next_hop = NextHopTreatment::SelfAddress;
            }
            (NextHopSet::Unchanged, _) => out.next_hop = NextHopTreatment::Unchanged,
        },
        Set::Prepend(p) => {
            let own;
            let asns: &[u32] = match p {
                Prepend::Own(n) => {
                    own = vec![r.local_as; usize::from(*n)];
                    &own
                }
                Prepend::Asns(v) => v,
            };
            let path = attrs
                .as_path()
                .map_or_else(|| AsPath::sequence(asns.to_vec()), |p| p.prepended(asns));
            set_attr(attrs, AttrValue::AsPath(path));
        }
        Set::Exclude(asns) => {
            if let Some(p) = attrs
                .as_path()
                .filter(|p| asns.iter().any(|a| p.contains(*a)))
            {
                let path = p.without(asns);
                set_attr(attrs, AttrValue::AsPath(path));
            }
        }
        Set::CommunityAdd(v) => {
            let values = match v {
                CommunityValues::Standard(n) => {
                    CommunityValues::Standard(add(attrs.communities(), n))
                }
                CommunityValues::Extended(n) => {
                    CommunityValues::Extended(add(attrs.extended_communities(), n))
                }
                CommunityValues::Large(n) => {
                    CommunityValues::Large(add(attrs.large_communities(), n))
                }
            };
            put_communities(attrs, values);
        }
        Set::CommunityRemove(list) => {
            use super::community_list::Kind;
            let values = match list.kind() {
                Kind::Standard => without(attrs.communities(), |c| list.removes_standard(c))
                    .map(CommunityValues::Standard),
                Kind::Extended => {
                    without(attrs.extended_communities(), |c| list.removes_extended(c))
                        .map(CommunityValues::Extended)
                }
                Kind::Large => without(attrs.large_communities(), |c| list.removes_large(c))
                    .map(CommunityValues::Large),
            };
            if let Some(v) = values {
                put_communities(attrs, v);
            }
        }
        Set::CommunityReplace(v) => put_communities(attrs, v.clone()),
        // Kept with the path on import (where the decision process reads
        // it); meaningless on export, as in FRR.
        Set::Weight(w) => {
            out.weight = Some(*w);
            if r.direction == Direction::Import {
                Arc::make_mut(attrs).set_weight(*w);
            }
        }
    }
}
