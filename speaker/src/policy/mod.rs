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
mod error;
pub mod prefix_list;
pub mod route_map;
pub mod set;

pub use as_path_list::AsPathList;
pub use community_list::{CommunityList, Kind as CommunityKind};
pub use error::PolicyError;
pub use prefix_list::{PrefixList, PrefixListEntry};
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
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
pub enum SetDef {
    CommunityRemove(String),
    /// Any action that names no list.
    Plain(Set),
}

#[derive(Clone, Debug)]
pub struct RouteMapEntryDef {
    pub seq: u32,
    pub action: Action,
    pub matches: Vec<MatchDef>,
    pub sets: Vec<SetDef>,
    pub on_match: OnMatch,
}

/// Everything the configuration defines, by name.
#[derive(Clone, Debug, Default)]
pub struct PolicyDef {
    pub prefix_lists: BTreeMap<String, Vec<PrefixListEntry>>,
    pub as_path_lists: BTreeMap<String, Vec<(Action, String)>>,
    pub community_lists: BTreeMap<String, (CommunityKind, Vec<(Action, community_list::EntryDef)>)>,
    pub route_maps: BTreeMap<String, Vec<RouteMapEntryDef>>,
}

/// A checked, compiled policy: route-maps by name.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    route_maps: BTreeMap<String, Arc<RouteMap>>,
}

fn find<T>(
    map: &BTreeMap<String, Arc<T>>,
    kind: &'static str,
    name: &str,
) -> Result<Arc<T>, PolicyError> {
    map.get(name)
        .cloned()
        .ok_or_else(|| PolicyError::UnknownName {
            kind,
            name: name.to_string(),
        })
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
    pub fn compile(def: &PolicyDef) -> Result<Policy, PolicyError> {
        let prefix_lists = def
            .prefix_lists
            .iter()
            .map(|(n, e)| {
                let l =
                    PrefixList::new(e.clone()).map_err(|e| e.in_(format!("prefix list '{n}'")))?;
                Ok((n.clone(), Arc::new(l)))
            })
            .collect::<Result<BTreeMap<_, _>, PolicyError>>()?;
        let as_path_lists = def
            .as_path_lists
            .iter()
            .map(|(n, e)| {
                let l = AsPathList::new(e).map_err(|e| e.in_(format!("AS-path list '{n}'")))?;
                Ok((n.clone(), Arc::new(l)))
            })
            .collect::<Result<BTreeMap<_, _>, PolicyError>>()?;
        let community_lists = def
            .community_lists
            .iter()
            .map(|(n, (kind, e))| {
                let l = CommunityList::new(*kind, e)
                    .map_err(|e| e.in_(format!("community list '{n}'")))?;
                Ok((n.clone(), Arc::new(l)))
            })
            .collect::<Result<BTreeMap<_, _>, PolicyError>>()?;
        let mut route_maps = BTreeMap::new();
        for (name, entries) in &def.route_maps {
            let mut compiled = Vec::with_capacity(entries.len());
            for e in entries {
                let what = || format!("route-map '{name}' entry {}", e.seq);
                let entry = compile_entry(e, &prefix_lists, &as_path_lists, &community_lists)
                    .map_err(|err| err.in_(what()))?;
                compiled.push(entry);
            }
            compiled.sort_by_key(|e| e.seq);
            if let Some(w) = compiled.windows(2).find(|w| w[0].seq == w[1].seq) {
                return Err(
                    PolicyError::DuplicateSeq { seq: w[0].seq }.in_(format!("route-map '{name}'"))
                );
            }
            route_maps.insert(
                name.clone(),
                Arc::new(RouteMap {
                    name: name.clone(),
                    entries: compiled,
                }),
            );
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

fn compile_entry(
    e: &RouteMapEntryDef,
    prefix_lists: &BTreeMap<String, Arc<PrefixList>>,
    as_path_lists: &BTreeMap<String, Arc<AsPathList>>,
    community_lists: &BTreeMap<String, Arc<CommunityList>>,
) -> Result<route_map::Entry, PolicyError> {
    let matches = e
        .matches
        .iter()
        .map(|m| {
            Ok(match m {
                MatchDef::PrefixList(n) => Match::PrefixList(find(prefix_lists, "prefix list", n)?),
                MatchDef::NextHopList(n) => {
                    Match::NextHopList(find(prefix_lists, "prefix list", n)?)
                }
                MatchDef::AsPath(n) => Match::AsPath(find(as_path_lists, "AS-path list", n)?),
                MatchDef::Community { list, exact } => Match::Community {
                    list: find(community_lists, "community list", list)?,
                    exact: *exact,
                },
                MatchDef::Plain(m) => {
                    match m {
                        Match::Med(r) | Match::LocalPref(r) => check_range(r)?,
                        Match::OriginAs(rs) => rs.iter().try_for_each(check_range)?,
                        _ => {}
                    }
                    m.clone()
                }
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    let sets = e
        .sets
        .iter()
        .map(|s| {
            Ok(match s {
                SetDef::CommunityRemove(n) => {
                    Set::CommunityRemove(find(community_lists, "community list", n)?)
                }
                SetDef::Plain(s) => s.clone(),
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
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
                return Err(PolicyError::Invalid {
                    seq: e.seq,
                    what: format!(
                        "next-hop {a} cannot apply to the {} routes its prefix list matches",
                        if v6 { "IPv6" } else { "IPv4" }
                    ),
                });
            }
        }
    }
    if let OnMatch::Goto(target) = e.on_match
        && target <= e.seq
    {
        return Err(PolicyError::BackwardGoto { seq: e.seq, target });
    }
    if e.action == Action::Deny && !sets.is_empty() {
        // FRR accepts and ignores them; an operator who wrote them meant
        // something else.
        return Err(PolicyError::Invalid {
            seq: e.seq,
            what: "a deny entry has set actions, which would never apply".into(),
        });
    }
    Ok(route_map::Entry {
        seq: e.seq,
        action: e.action,
        matches,
        sets,
        on_match: e.on_match,
    })
}

#[cfg(test)]
mod tests;
