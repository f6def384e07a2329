//! Routing policy: prefix, AS-path and community lists, and route-maps
//! that match routes and then drop them or change their attributes, on
//! the way in (import, before the decision process) or out (export, per
//! update group).
//!
//! A [`PolicyDef`] is what the configuration says, by name; [`Policy::compile`]
//! checks it whole (unknown names, bad expressions, impossible ranges,
//! sets that cannot apply to the family) and resolves every name once, so
//! that evaluating a route ([`RouteMap::apply`]) looks nothing up by name
//! and allocates only for the attributes it changes.

pub mod as_path_list;
pub mod community_list;
pub mod community_text;
mod error;
pub mod import;
pub mod prefix_limit;
pub mod prefix_list;
pub mod received;
pub mod route_map;
pub mod set;

pub use as_path_list::AsPathList;
pub use community_list::{CommunityList, Kind as CommunityKind};
pub use error::{Located, Place, PolicyError};
pub use import::ImportFilter;
pub use prefix_limit::{Crossing, LimitAction, PrefixCounter, PrefixLimit};
pub use prefix_list::{PrefixList, PrefixListEntry};
pub use received::{ReceivedRoutes, Reimported};
pub use route_map::{
    Direction, Match, NextHopTreatment, OnMatch, Permitted, Route, RouteMap, Verdict,
};
pub use set::{CommunityValues, MedSet, NextHopSet, Prepend, Set};

use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Permit,
    Deny,
}

/// A match clause as written: lists by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchDef {
    PrefixList(String),
    NextHopList(String),
    AsPath(String),
    Community {
        list: String,
        exact: bool,
    },
    /// Any clause that names no list.
    Plain(Match),
}

/// A set action as written: the list of `CommunityRemove` by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetDef {
    CommunityRemove(String),
    /// Any action that names no list.
    Plain(Set),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMapEntryDef {
    pub seq: u32,
    pub action: Action,
    pub matches: Vec<MatchDef>,
    pub sets: Vec<SetDef>,
    pub on_match: OnMatch,
}

/// Everything the configuration defines, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyDef {
    pub prefix_lists: BTreeMap<String, Vec<PrefixListEntry>>,
    pub as_path_lists: BTreeMap<String, Vec<(Action, String)>>,
    pub community_lists: BTreeMap<String, (CommunityKind, Vec<(Action, community_list::EntryDef)>)>,
    pub route_maps: BTreeMap<String, Vec<RouteMapEntryDef>>,
}

/// A checked, compiled policy: route-maps by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    route_maps: BTreeMap<String, Arc<RouteMap>>,
}

fn check_range(r: &std::ops::RangeInclusive<u32>) -> Result<(), PolicyError> {
    if r.start() > r.end() {
        return Err(PolicyError::BadRange {
            low: *r.start(),
            high: *r.end(),
        });
    }
    Ok(())
}

impl Policy {
    /// Checks and compiles everything; every problem found, each with its
    /// place.
    pub fn compile(def: &PolicyDef) -> Result<Policy, Vec<Located>> {
        let mut errors = Vec::new();
        let mut prefix_lists = BTreeMap::new();
        for (n, e) in &def.prefix_lists {
            match PrefixList::new(e.clone()) {
                Ok(l) => {
                    prefix_lists.insert(n.clone(), Arc::new(l));
                }
                Err(e) => errors.push(e.at(Place::PrefixList(n.clone()))),
            }
        }
        let mut as_path_lists = BTreeMap::new();
        for (n, e) in &def.as_path_lists {
            match AsPathList::new(e) {
                Ok(l) => {
                    as_path_lists.insert(n.clone(), Arc::new(l));
                }
                Err(e) => errors.push(e.at(Place::AsPathList(n.clone()))),
            }
        }
        let mut community_lists = BTreeMap::new();
        for (n, (kind, e)) in &def.community_lists {
            match CommunityList::new(*kind, e) {
                Ok(l) => {
                    community_lists.insert(n.clone(), Arc::new(l));
                }
                Err(e) => errors.push(e.at(Place::CommunityList(n.clone()))),
            }
        }
        let lists = Lists {
            prefix: &prefix_lists,
            as_path: &as_path_lists,
            community: &community_lists,
            // A list that failed is reported already: not again as unknown.
            failed: &errors
                .iter()
                .map(|e: &Located| e.place.clone())
                .collect::<Vec<_>>(),
        };
        let mut route_maps = BTreeMap::new();
        for (name, entries) in &def.route_maps {
            let mut compiled = Vec::with_capacity(entries.len());
            let mut seqs = BTreeMap::new();
            for (index, e) in entries.iter().enumerate() {
                let place = || Place::RouteMap {
                    name: name.clone(),
                    index,
                    seq: e.seq,
                };
                if seqs.insert(e.seq, index).is_some() {
                    errors.push(PolicyError::DuplicateSeq { seq: e.seq }.at(place()));
                    continue;
                }
                match compile_entry(e, &lists) {
                    Ok(entry) => compiled.push(entry),
                    Err(Some(err)) => errors.push(err.at(place())),
                    Err(None) => {}
                }
            }
            route_maps.insert(
                name.clone(),
                Arc::new(RouteMap::new(name.clone(), compiled)),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Policy { route_maps })
    }

    pub fn route_map(&self, name: &str) -> Option<&Arc<RouteMap>> {
        self.route_maps.get(name)
    }

    pub fn route_map_names(&self) -> impl Iterator<Item = &str> {
        self.route_maps.keys().map(String::as_str)
    }
}

/// The compiled lists, by name, and the places of those that failed.
struct Lists<'a> {
    prefix: &'a BTreeMap<String, Arc<PrefixList>>,
    as_path: &'a BTreeMap<String, Arc<AsPathList>>,
    community: &'a BTreeMap<String, Arc<CommunityList>>,
    failed: &'a [Place],
}

impl Lists<'_> {
    /// A list by name: `Err(None)` when it failed (already reported).
    fn get<T>(
        &self,
        map: &BTreeMap<String, Arc<T>>,
        kind: &'static str,
        name: &str,
        place: Place,
    ) -> Result<Arc<T>, Option<PolicyError>> {
        if let Some(l) = map.get(name) {
            return Ok(l.clone());
        }
        if self.failed.contains(&place) {
            return Err(None);
        }
        Err(Some(PolicyError::UnknownName {
            kind,
            name: name.to_string(),
        }))
    }

    fn prefix(&self, n: &str) -> Result<Arc<PrefixList>, Option<PolicyError>> {
        self.get(self.prefix, "prefix list", n, Place::PrefixList(n.into()))
    }

    fn as_path(&self, n: &str) -> Result<Arc<AsPathList>, Option<PolicyError>> {
        self.get(self.as_path, "AS-path list", n, Place::AsPathList(n.into()))
    }

    fn community(&self, n: &str) -> Result<Arc<CommunityList>, Option<PolicyError>> {
        self.get(
            self.community,
            "community list",
            n,
            Place::CommunityList(n.into()),
        )
    }
}

fn compile_entry(
    e: &RouteMapEntryDef,
    lists: &Lists<'_>,
) -> Result<route_map::Entry, Option<PolicyError>> {
    let matches = e
        .matches
        .iter()
        .map(|m| {
            Ok(match m {
                MatchDef::PrefixList(n) => Match::PrefixList(lists.prefix(n)?),
                MatchDef::NextHopList(n) => Match::NextHopList(lists.prefix(n)?),
                MatchDef::AsPath(n) => Match::AsPath(lists.as_path(n)?),
                MatchDef::Community { list, exact } => Match::Community {
                    list: lists.community(list)?,
                    exact: *exact,
                },
                MatchDef::Plain(m) => {
                    match m {
                        Match::Med(r) | Match::LocalPref(r) => check_range(r).map_err(Some)?,
                        Match::OriginAs(rs) => rs.iter().try_for_each(check_range).map_err(Some)?,
                        _ => {}
                    }
                    m.clone()
                }
            })
        })
        .collect::<Result<Vec<_>, Option<PolicyError>>>()?;
    let sets = e
        .sets
        .iter()
        .map(|s| {
            Ok(match s {
                SetDef::CommunityRemove(n) => Set::CommunityRemove(lists.community(n)?),
                SetDef::Plain(s) => s.clone(),
            })
        })
        .collect::<Result<Vec<_>, Option<PolicyError>>>()?;
    // A next-hop address of the other family than the routes the entry
    // can match (told by its prefix lists) could never apply.
    for s in &sets {
        let Set::NextHop(NextHopSet::Address(a)) = s else {
            continue;
        };
        for m in &matches {
            if let Match::PrefixList(l) = m
                && let Some(v6) = l.family_v6()
                && v6 != a.is_ipv6()
            {
                return Err(Some(PolicyError::Invalid {
                    seq: e.seq,
                    what: format!(
                        "next-hop {a} cannot apply to the {} routes its prefix list matches",
                        if v6 { "IPv6" } else { "IPv4" }
                    ),
                }));
            }
        }
    }
    if let OnMatch::Goto(target) = e.on_match
        && target <= e.seq
    {
        return Err(Some(PolicyError::BackwardGoto { seq: e.seq, target }));
    }
    if e.action == Action::Deny && !sets.is_empty() {
        // FRR accepts and ignores them; an operator who wrote them meant
        // something else.
        return Err(Some(PolicyError::Invalid {
            seq: e.seq,
            what: "a deny entry has set actions, which would never apply".into(),
        }));
    }
    Ok(route_map::Entry {
        seq: e.seq,
        action: e.action,
        matches,
        sets,
        on_match: e.on_match,
        first_clause: 0,
    })
}

#[cfg(test)]
mod tests;
