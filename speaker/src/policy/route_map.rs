//! Route-maps: named, ordered entries that match routes and then deny
//! them or change their attributes (the FRR/IOS model).
//!
//! Evaluation: entries in sequence order; the first whose match clauses
//! all hold decides. A `deny` entry drops the route. A `permit` entry
//! applies its set actions, then: `exit` (the default) stops, permitted;
//! `next` goes on with the following entries, `goto N` with the first
//! entry numbered N or more, evaluating the changed route; when nothing
//! matches after a permit, the route stays permitted (as IOS's `continue`
//! and Junos's `next term`; FRR 8.4 denies it, a difference the
//! differential test lists). A route that no entry matches is denied.

use super::Action;
use super::as_path_list::AsPathList;
use super::community_list::{Carried, CommunityList};
use super::prefix_list::PrefixList;
use super::set::{self, Set};
use crate::rib::adj_rib_out::next_hop;
use crate::wire::attr::{Origin, PathAttributes};
use crate::wire::{Family, Prefix};
use foldhash::fast::FixedState;
use std::collections::HashMap;
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
    /// The neighbour the route came from: import only (the configuration
    /// refuses it in an export route-map, whose update group shares it).
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
    /// The number of its first clause in the map (for [`Memo`]); set by
    /// [`RouteMap::new`].
    pub first_clause: usize,
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
    /// The neighbour it came from (import); unspecified on export, which
    /// is an update group's, not one neighbour's.
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
    /// Match clauses in all.
    clauses: usize,
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
    /// Whether the clause reads the attributes only (not the prefix or
    /// the neighbour), and costs enough to remember.
    fn attrs_only(&self) -> bool {
        matches!(self, Match::AsPath(_) | Match::Community { .. })
    }

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
    /// A map of `entries` in sequence order, its clauses numbered.
    pub fn new(name: String, mut entries: Vec<Entry>) -> RouteMap {
        entries.sort_by_key(|e| e.seq);
        let mut n = 0;
        for e in &mut entries {
            e.first_clause = n;
            n += e.matches.len();
        }
        RouteMap {
            name,
            entries,
            clauses: n,
        }
    }

    /// Runs the map over a route (see the module's comment).
    pub fn apply(&self, r: &Route<'_>) -> Verdict {
        self.run(r, None)
    }

    /// [`RouteMap::apply`], reusing what earlier routes with the same
    /// attribute sets learned ([`Memo`]): the routes of one UPDATE share
    /// their attributes, so the expressions run and the sets apply once
    /// per UPDATE, not once per prefix.
    pub fn apply_with(&self, r: &Route<'_>, memo: &mut Memo) -> Verdict {
        self.run(r, Some(memo))
    }

    fn run(&self, r: &Route<'_>, mut memo: Option<&mut Memo>) -> Verdict {
        let mut out = Permitted {
            attrs: r.attrs.clone(),
            weight: None,
            next_hop: NextHopTreatment::Default,
        };
        let mut permitted = false;
        let mut i = 0;
        while let Some(e) = self.entries.get(i) {
            let index = i;
            i += 1;
            let holds = |(j, m): (usize, &Match), memo: &mut Option<&mut Memo>| match (
                m.attrs_only(),
                memo,
            ) {
                (true, Some(memo)) => memo.holds(self, &out.attrs, e.first_clause + j, || {
                    m.holds(r, &out.attrs)
                }),
                _ => m.holds(r, &out.attrs),
            };
            if !e.matches.iter().enumerate().all(|c| holds(c, &mut memo)) {
                continue;
            }
            if e.action == Action::Deny {
                return Verdict::Deny;
            }
            permitted = true;
            if !e.sets.is_empty() {
                match memo.as_deref_mut() {
                    Some(memo) => {
                        out = memo.after_sets((self, r.neighbor), &out, index, |before| {
                            let mut after = before.clone();
                            for s in &e.sets {
                                set::apply(s, r, &mut after);
                            }
                            after
                        });
                    }
                    None => {
                        for s in &e.sets {
                            set::apply(s, r, &mut out);
                        }
                    }
                }
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

type AfterKey = (usize, IpAddr, usize, Option<u32>, NextHopTreatment, usize);

/// What route-map runs learned about attribute sets, for the next routes
/// with the same sets (the prefixes of one UPDATE): the clauses that read
/// only attributes, and the result of an entry's sets on a set. Keyed by
/// the sets' addresses, so it holds every set it names (an address is not
/// reused while it is kept). For one batch of routes: it grows with the
/// sets it sees.
#[derive(Default)]
pub struct Memo {
    /// (set address, map address) -> its clause results in `results`.
    index: HashMap<(usize, usize), usize, FixedState>,
    /// Each clause's result: 0 not yet known, 1 false, 2 true.
    results: Vec<Vec<u8>>,
    /// The last key looked up and its place: the clauses of one run ask
    /// in a row.
    last: Option<((usize, usize), usize)>,
    /// (map address, neighbour, set address, weight, next hop, entry) ->
    /// after the entry's sets (`peer-address` reads the neighbour).
    after: HashMap<AfterKey, Permitted, FixedState>,
    keep: HashMap<usize, Arc<PathAttributes>, FixedState>,
}

impl Memo {
    /// Attribute sets it holds.
    pub fn len(&self) -> usize {
        self.keep.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keep.is_empty()
    }

    pub fn clear(&mut self) {
        self.index.clear();
        self.results.clear();
        self.last = None;
        self.after.clear();
        self.keep.clear();
    }

    fn keep(&mut self, a: &Arc<PathAttributes>) {
        self.keep
            .entry(Arc::as_ptr(a) as usize)
            .or_insert_with(|| a.clone());
    }

    fn holds(
        &mut self,
        map: &RouteMap,
        attrs: &Arc<PathAttributes>,
        clause: usize,
        eval: impl FnOnce() -> bool,
    ) -> bool {
        let key = (Arc::as_ptr(attrs) as usize, map as *const RouteMap as usize);
        let at = match self.last {
            Some((k, at)) if k == key => at,
            _ => {
                let at = match self.index.get(&key) {
                    Some(at) => *at,
                    None => {
                        self.keep.entry(key.0).or_insert_with(|| attrs.clone());
                        self.results.push(vec![0; map.clauses]);
                        self.index.insert(key, self.results.len() - 1);
                        self.results.len() - 1
                    }
                };
                self.last = Some((key, at));
                at
            }
        };
        let Some(results) = self.results.get_mut(at) else {
            return eval();
        };
        match results.get(clause) {
            Some(1) => false,
            Some(2) => true,
            _ => {
                let v = eval();
                if let Some(slot) = results.get_mut(clause) {
                    *slot = if v { 2 } else { 1 };
                }
                v
            }
        }
    }

    fn after_sets(
        &mut self,
        (map, neighbor): (&RouteMap, IpAddr),
        before: &Permitted,
        entry: usize,
        apply: impl FnOnce(&Permitted) -> Permitted,
    ) -> Permitted {
        let key = (
            map as *const RouteMap as usize,
            neighbor,
            Arc::as_ptr(&before.attrs) as usize,
            before.weight,
            before.next_hop,
            entry,
        );
        if let Some(p) = self.after.get(&key) {
            return p.clone();
        }
        let p = apply(before);
        self.keep(&before.attrs);
        self.keep(&p.attrs);
        self.after.insert(key, p.clone());
        p
    }
}
