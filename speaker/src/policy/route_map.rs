//! Route-maps: named, ordered entries that match routes and then deny
//! them or change their attributes (the FRR/IOS model).
//!
//! Evaluation: entries in sequence order; the first whose match clauses
//! all hold decides. A `deny` entry drops the route. A `permit` entry
//! applies its set actions, then: `exit` (the default) stops, permitted;
//! `next` goes on with the following entries, `goto N` with the first
//! entry numbered N or more, evaluating the changed route; when nothing
//! matches after a permit, the route stays permitted. A route that no
//! entry matches is denied.

use super::Action;
use super::as_path_list::AsPathList;
use super::community_list::{Carried, CommunityList};
use super::prefix_list::PrefixList;
use super::set::{self, Set};
use crate::rib::adj_rib_out::next_hop;
use crate::wire::attr::{Origin, PathAttributes};
use crate::wire::{Family, Prefix};
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// What to do after a permit entry's sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnMatch {
    #[default]
    Exit,
    Next,
    /// The first entry whose sequence number is this or more.
    Goto(u32),
}

/// A match clause, compiled: lists are shared with the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    PrefixList(Arc<PrefixList>),
    /// The next hop, as a host prefix, through a prefix list.
    NextHopList(Arc<PrefixList>),
    NextHop(Vec<IpAddr>),
    /// The neighbour the route came from (import) or goes to (export).
    Neighbor(Vec<IpAddr>),
    AsPath(Arc<AsPathList>),
    Community {
        list: Arc<CommunityList>,
        exact: bool,
    },
    /// The last AS of the path's trailing AS_SEQUENCE.
    OriginAs(Vec<RangeInclusive<u32>>),
    /// A route without MED counts as 0 (RFC 4271 §9.1.2.2 (c)).
    Med(RangeInclusive<u32>),
    /// A route without LOCAL_PREF (from eBGP) counts as 100, the default.
    LocalPref(RangeInclusive<u32>),
    Origin(Origin),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: u32,
    pub action: Action,
    pub matches: Vec<Match>,
    pub sets: Vec<Set>,
    pub on_match: OnMatch,
}

/// Which way a route is going through the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Import,
    Export,
}

/// The facts about a route that a map reads besides its attributes.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    pub family: Family,
    pub prefix: &'a Prefix,
    pub attrs: &'a Arc<PathAttributes>,
    /// The neighbour it came from (import) or goes to (export).
    pub neighbor: IpAddr,
    pub local_as: u32,
    pub direction: Direction,
}

/// How the next hop is to be treated after the map, beyond what it set in
/// the attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NextHopTreatment {
    /// As the session's rules say.
    #[default]
    Default,
    /// Not rewritten on export, even towards eBGP (`next-hop unchanged`).
    Unchanged,
    /// Our address on the session (`next-hop self`, or `peer-address` on
    /// export).
    SelfAddress,
}

/// A permitted route: its attributes (the same `Arc` when no set changed
/// them) and what is kept beside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permitted {
    pub attrs: Arc<PathAttributes>,
    /// Local preference of this speaker only, never sent (like IOS
    /// `weight`): higher wins, before LOCAL_PREF.
    pub weight: Option<u32>,
    pub next_hop: NextHopTreatment,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Deny,
    Permit(Permitted),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMap {
    pub name: String,
    /// In sequence order.
    pub entries: Vec<Entry>,
}

fn host(addr: IpAddr) -> Option<Prefix> {
    let len = if addr.is_ipv6() { 128 } else { 32 };
    Prefix::new(addr, len)
}

fn carried(attrs: &PathAttributes) -> Carried<'_> {
    Carried {
        standard: attrs.communities().map_or(&[], |v| v.as_slice()),
        extended: attrs.extended_communities().map_or(&[], |v| v.as_slice()),
        large: attrs.large_communities().map_or(&[], |v| v.as_slice()),
    }
}

impl Match {
    fn holds(&self, r: &Route<'_>, attrs: &PathAttributes) -> bool {
        match self {
            Match::PrefixList(l) => l.permits(r.prefix),
            Match::NextHopList(l) => next_hop(r.family, attrs)
                .and_then(host)
                .is_some_and(|h| l.permits(&h)),
            Match::NextHop(addrs) => next_hop(r.family, attrs).is_some_and(|n| addrs.contains(&n)),
            Match::Neighbor(addrs) => addrs.contains(&r.neighbor),
            Match::AsPath(l) => l.permits(attrs.as_path()),
            Match::Community { list, exact } => {
                let c = carried(attrs);
                if *exact {
                    list.permits_exactly(&c)
                } else {
                    list.permits(&c)
                }
            }
            Match::OriginAs(ranges) => attrs
                .as_path()
                .and_then(|p| p.origin_asn())
                .is_some_and(|o| ranges.iter().any(|r| r.contains(&o))),
            Match::Med(range) => range.contains(&attrs.med().copied().unwrap_or(0)),
            Match::LocalPref(range) => range.contains(&attrs.local_pref().copied().unwrap_or(100)),
            Match::Origin(o) => attrs.origin() == Some(o),
        }
    }
}

impl RouteMap {
    /// Runs the map over a route (see the module's comment).
    pub fn apply(&self, r: &Route<'_>) -> Verdict {
        let mut out = Permitted {
            attrs: r.attrs.clone(),
            weight: None,
            next_hop: NextHopTreatment::Default,
        };
        let mut permitted = false;
        let mut i = 0;
        while let Some(e) = self.entries.get(i) {
            i += 1;
            if !e.matches.iter().all(|m| m.holds(r, &out.attrs)) {
                continue;
            }
            if e.action == Action::Deny {
                return Verdict::Deny;
            }
            permitted = true;
            for s in &e.sets {
                set::apply(s, r, &mut out);
            }
            match e.on_match {
                OnMatch::Exit => break,
                OnMatch::Next => {}
                OnMatch::Goto(n) => i = self.entries.partition_point(|e| e.seq < n),
            }
        }
        if permitted {
            Verdict::Permit(out)
        } else {
            Verdict::Deny
        }
    }
}
