//! The decision process (RFC 4271 §9.1.2.2 with the RFC 4456 §9
//! tie-breaks), written as the RFC writes it: successive elimination over
//! the whole set of candidates. Elimination does not depend on the order of
//! the candidates, which a pairwise sort would (MED is not transitive).

use crate::wire::attr::{Community, Origin};
use crate::wire::{Family, PathAttributes};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Resolves next hops for the decision process: `None` when unreachable,
/// else the IGP cost to reach it (RFC 4271 §9.1.2.1, §9.1.2.2 (e)).
/// Must answer the same on every member for the RIB to stay deterministic.
pub trait NextHopResolver {
    fn igp_cost(&self, family: Family, next_hop: IpAddr) -> Option<u32>;
}

/// Every next hop reachable at cost 0: a reflector that is not in the
/// forwarding path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolveAll;

impl NextHopResolver for ResolveAll {
    fn igp_cost(&self, _: Family, _: IpAddr) -> Option<u32> {
        Some(0)
    }
}

/// The resolver a RIB is built with: every next hop reachable (a reflector
/// that is not in the forwarding path), or a shared view of a forwarding
/// table (a border: a route whose next hop it cannot reach is not best).
/// A border is a cluster of its own, so its view need not be replicated.
#[derive(Clone, Default)]
pub enum Resolver {
    #[default]
    All,
    Table(Arc<dyn NextHopResolver + Send + Sync>),
}

impl NextHopResolver for Resolver {
    fn igp_cost(&self, family: Family, next_hop: IpAddr) -> Option<u32> {
        match self {
            Resolver::All => Some(0),
            Resolver::Table(t) => t.igp_cost(family, next_hop),
        }
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolver::All => f.write_str("Resolver::All"),
            Resolver::Table(_) => f.write_str("Resolver::Table"),
        }
    }
}

impl<F: Fn(Family, IpAddr) -> Option<u32>> NextHopResolver for F {
    fn igp_cost(&self, family: Family, next_hop: IpAddr) -> Option<u32> {
        self(family, next_hop)
    }
}

/// The step of the decision process that set the best path apart from the
/// last competitor, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecisionStep {
    /// No competitor.
    OnlyPath,
    /// The others have an unresolvable next hop (§9.1.2.1).
    NextHopResolvable,
    /// The others carry LLGR_STALE: least preferred, before any other
    /// comparison (RFC 9494 §4.3).
    LongLivedStale,
    /// Highest weight: a preference of this speaker only, set by an
    /// import route-map (absent = 0), before everything the RFC ranks, as
    /// in IOS and FRR.
    Weight,
    /// Highest LOCAL_PREF (§9.1.1, absent = 100).
    LocalPref,
    /// Shortest AS_PATH (§9.1.2.2 (a)).
    AsPathLength,
    /// Lowest ORIGIN (§9.1.2.2 (b)).
    Origin,
    /// Lowest MED among paths from the same neighbour AS (§9.1.2.2 (c)).
    Med,
    /// eBGP over iBGP (§9.1.2.2 (d)).
    EbgpOverIbgp,
    /// Lowest IGP cost to the next hop (§9.1.2.2 (e)).
    IgpCost,
    /// Lowest BGP identifier, ORIGINATOR_ID in its place when present
    /// (§9.1.2.2 (f), RFC 4456 §9).
    RouterId,
    /// Shortest CLUSTER_LIST (RFC 4456 §9).
    ClusterListLength,
    /// Lowest peer address (§9.1.2.2 (g)).
    PeerAddress,
    /// Lowest received path identifier: two ADD-PATH paths from one peer
    /// (ours, to stay deterministic).
    PathId,
}

/// Decision options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Compare MED between paths from different neighbour ASes too.
    pub always_compare_med: bool,
    /// Paths installed together for ECMP at most (0 or 1: the best only).
    /// Not part of the decision: [`multipath`] reads it.
    pub multipath: u16,
}

/// What the decision process needs to know of one candidate path.
#[derive(Clone, Copy, Debug)]
pub struct PathRank<'a> {
    pub attrs: &'a PathAttributes,
    pub ebgp: bool,
    pub peer_router_id: Ipv4Addr,
    pub peer_address: IpAddr,
    pub path_id: Option<u32>,
    /// `None`: next hop unresolvable.
    pub igp_cost: Option<u32>,
}

impl PathRank<'_> {
    fn local_pref(&self) -> u32 {
        self.attrs.local_pref().copied().unwrap_or(100)
    }
    fn as_path_len(&self) -> usize {
        self.attrs.as_path().map_or(0, |p| p.path_length())
    }
    fn origin(&self) -> Origin {
        self.attrs.origin().copied().unwrap_or(Origin::Incomplete)
    }
    fn med(&self) -> u32 {
        // RFC 4271 §9.1.2.2 (c): a missing MED is the lowest value.
        self.attrs.med().copied().unwrap_or(0)
    }
    fn neighbour_as(&self) -> Option<u32> {
        self.attrs.as_path().and_then(|p| p.first_asn())
    }
    fn router_id(&self) -> Ipv4Addr {
        self.attrs
            .originator_id()
            .copied()
            .unwrap_or(self.peer_router_id)
    }
    fn cluster_list_len(&self) -> usize {
        self.attrs.cluster_list().map_or(0, Vec::len)
    }
    fn long_lived_stale(&self) -> bool {
        self.attrs.has_community(Community::LLGR_STALE)
    }
}

/// The result of the decision process over a set of candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Index of the best path in the candidates.
    pub best: usize,
    /// The step that eliminated the last competitor.
    pub step: DecisionStep,
    /// A competitor eliminated at that step, if there was any.
    pub runner_up: Option<usize>,
}

/// Runs the decision process; `None` when no candidate is usable.
pub fn decide(paths: &[PathRank<'_>], config: &DecisionConfig) -> Option<Decision> {
    // Most destinations have one path: no allocation for them.
    if let [only] = paths {
        only.igp_cost?;
        return Some(Decision {
            best: 0,
            step: DecisionStep::OnlyPath,
            runner_up: None,
        });
    }
    let mut alive: Vec<usize> = (0..paths.len())
        .filter(|&i| paths[i].igp_cost.is_some())
        .collect();
    let first_alive = *alive.first()?;
    if alive.len() == 1 {
        return Some(Decision {
            best: first_alive,
            step: DecisionStep::NextHopResolvable,
            runner_up: (0..paths.len()).find(|&i| i != first_alive),
        });
    }
    type Step = fn(&[PathRank<'_>], &mut Vec<usize>, &DecisionConfig);
    let steps: [(DecisionStep, Step); 12] = [
        (DecisionStep::LongLivedStale, |p, a, _| {
            keep_min(p, a, PathRank::long_lived_stale)
        }),
        (DecisionStep::Weight, |p, a, _| {
            keep_min(p, a, |r| std::cmp::Reverse(r.attrs.weight().unwrap_or(0)))
        }),
        (DecisionStep::LocalPref, |p, a, _| {
            keep_min(p, a, |r| std::cmp::Reverse(r.local_pref()))
        }),
        (DecisionStep::AsPathLength, |p, a, _| {
            keep_min(p, a, PathRank::as_path_len)
        }),
        (DecisionStep::Origin, |p, a, _| {
            keep_min(p, a, PathRank::origin)
        }),
        (DecisionStep::Med, eliminate_med),
        (DecisionStep::EbgpOverIbgp, |p, a, _| {
            keep_min(p, a, |r| !r.ebgp)
        }),
        (DecisionStep::IgpCost, |p, a, _| {
            keep_min(p, a, |r| r.igp_cost)
        }),
        (DecisionStep::RouterId, |p, a, _| {
            keep_min(p, a, PathRank::router_id)
        }),
        (DecisionStep::ClusterListLength, |p, a, _| {
            keep_min(p, a, PathRank::cluster_list_len)
        }),
        (DecisionStep::PeerAddress, |p, a, _| {
            keep_min(p, a, |r| r.peer_address)
        }),
        (DecisionStep::PathId, |p, a, _| {
            keep_min(p, a, |r| r.path_id)
        }),
    ];
    for (step, run) in steps {
        let before = alive.clone();
        run(paths, &mut alive, config);
        if alive.len() == 1 {
            let best = alive[0];
            return Some(Decision {
                best,
                step,
                runner_up: before.into_iter().find(|&i| i != best),
            });
        }
    }
    // Only reachable with two candidates equal in every field, which the
    // RIB never builds (peer and path id are its key): take the first.
    Some(Decision {
        best: alive[0],
        step: DecisionStep::PathId,
        runner_up: alive.get(1).copied(),
    })
}

/// The paths forwarded over together with the best one (ECMP), the best
/// first: those equal to it down to the IGP cost (§9.1.2.2 (a) to (e)) and
/// with the same AS_PATH, as FRR's `maximum-paths` without
/// `multipath-relax`; at most `config.multipath`.
pub fn multipath(paths: &[PathRank<'_>], best: usize, config: &DecisionConfig) -> Vec<usize> {
    let max = usize::from(config.multipath.max(1));
    let Some(b) = paths.get(best) else {
        return Vec::new();
    };
    if max == 1 || paths.len() == 1 {
        return vec![best];
    }
    let mut alive: Vec<usize> = (0..paths.len())
        .filter(|&i| paths[i].igp_cost.is_some() && paths[i].attrs.as_path() == b.attrs.as_path())
        .collect();
    keep_min(paths, &mut alive, PathRank::long_lived_stale);
    keep_min(paths, &mut alive, |r| {
        std::cmp::Reverse(r.attrs.weight().unwrap_or(0))
    });
    keep_min(paths, &mut alive, |r| std::cmp::Reverse(r.local_pref()));
    keep_min(paths, &mut alive, PathRank::origin);
    eliminate_med(paths, &mut alive, config);
    keep_min(paths, &mut alive, |r| !r.ebgp);
    keep_min(paths, &mut alive, |r| r.igp_cost);
    let mut out = vec![best];
    out.extend(alive.into_iter().filter(|&i| i != best).take(max - 1));
    out
}

fn keep_min<'a, K: Ord>(
    paths: &[PathRank<'a>],
    alive: &mut Vec<usize>,
    key: impl Fn(&PathRank<'a>) -> K,
) {
    let Some(min) = alive.iter().map(|&i| key(&paths[i])).min() else {
        return;
    };
    alive.retain(|&i| key(&paths[i]) == min);
}

/// RFC 4271 §9.1.2.2 (c): remove a path when another path from the same
/// neighbour AS (any path with `always_compare_med`) has a lower MED.
fn eliminate_med(paths: &[PathRank<'_>], alive: &mut Vec<usize>, config: &DecisionConfig) {
    if config.always_compare_med {
        keep_min(paths, alive, PathRank::med);
        return;
    }
    let snapshot = alive.clone();
    alive.retain(|&i| {
        let (asn, med) = (paths[i].neighbour_as(), paths[i].med());
        !snapshot
            .iter()
            .any(|&j| paths[j].neighbour_as() == asn && paths[j].med() < med)
    });
}
